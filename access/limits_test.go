package access

import (
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the Limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestLimiter returns a Limiter on a fake clock.
func newTestLimiter(l Limits) (*Limiter, *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	lim := NewLimiter(l)
	lim.now = clock.now
	return lim, clock
}

// admitStatus admits ip and returns the refusal status (0 = admitted),
// Retry-After and the release function.
func admitStatus(t *testing.T, l *Limiter, ip string) (int, string, func()) {
	t.Helper()
	var addr netip.Addr
	if ip != "" {
		addr = netip.MustParseAddr(ip)
	}
	release, err := l.Admit(addr)
	if err == nil {
		if release == nil {
			t.Fatal("got nil release, want a function")
		}
		return 0, "", release
	}
	d, ok := errors.AsType[*Denied](err)
	if !ok {
		t.Fatalf("got %T %v, want a *Denied", err, err)
	}
	return d.Status, d.Header.Get("Retry-After"), nil
}

func TestLimiterSequences(t *testing.T) {
	type step struct {
		ip         string        // "" = invalid address
		release    int           // >0: release the admission made at this step number (1-based) instead
		advance    time.Duration // move the clock first
		wantStatus int
		wantRetry  string
	}
	tests := []struct {
		name   string
		limits Limits
		steps  []step
	}{
		{"no limits", Limits{}, []step{{ip: "192.0.2.1"}, {ip: "192.0.2.1"}, {ip: ""}}},
		{"total", Limits{MaxConns: 2}, []step{
			{ip: "192.0.2.1"}, {ip: "192.0.2.2"}, {ip: "192.0.2.3", wantStatus: 503},
			{release: 1}, {ip: "192.0.2.3"}, {ip: "", wantStatus: 503},
		}},
		{"per IP", Limits{MaxConnsPerIP: 1}, []step{
			{ip: "192.0.2.1"}, {ip: "192.0.2.1", wantStatus: 503}, {ip: "192.0.2.2"},
			{ip: "::ffff:192.0.2.1", wantStatus: 503},
			{release: 1}, {ip: "192.0.2.1"},
			{ip: ""}, {ip: ""},
		}},
		{"IPv6 /64 shares", Limits{MaxConnsPerIP: 1}, []step{
			{ip: "2001:db8:1:2::1"}, {ip: "2001:db8:1:2:ffff::9", wantStatus: 503}, {ip: "2001:db8:1:3::1"},
		}},
		{"rate", Limits{RatePerIP: 1, Burst: 2}, []step{
			{ip: "192.0.2.1"}, {ip: "192.0.2.1"}, {ip: "192.0.2.1", wantStatus: 429, wantRetry: "1"},
			{ip: "192.0.2.2"},
			{advance: time.Second, ip: "192.0.2.1"}, {ip: "192.0.2.1", wantStatus: 429, wantRetry: "1"},
		}},
		{"slow rate", Limits{RatePerIP: 0.1}, []step{
			{ip: "192.0.2.1"}, {ip: "192.0.2.1", wantStatus: 429, wantRetry: "10"},
			{advance: 4 * time.Second, ip: "192.0.2.1", wantStatus: 429, wantRetry: "6"},
			{advance: 6 * time.Second, ip: "192.0.2.1"},
		}},
		{"burst defaults to rate", Limits{RatePerIP: 2.5}, []step{
			{ip: "192.0.2.1"}, {ip: "192.0.2.1"}, {ip: "192.0.2.1"}, {ip: "192.0.2.1", wantStatus: 429, wantRetry: "1"},
		}},
		{"release does not refund rate", Limits{RatePerIP: 1}, []step{
			{ip: "192.0.2.1"}, {release: 1}, {ip: "192.0.2.1", wantStatus: 429, wantRetry: "1"},
		}},
		{"concurrency before rate", Limits{MaxConnsPerIP: 1, RatePerIP: 1, Burst: 1}, []step{
			{ip: "192.0.2.1"}, {advance: time.Second, ip: "192.0.2.1", wantStatus: 503},
			{release: 1}, {ip: "192.0.2.1"}, // the 503 took no token
		}},
		{"invalid ip only counts in total", Limits{MaxConns: 3, MaxConnsPerIP: 1, RatePerIP: 1, Burst: 1}, []step{
			{ip: ""}, {ip: ""}, {ip: ""}, {ip: "", wantStatus: 503},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clock := newTestLimiter(tt.limits)
			releases := make([]func(), len(tt.steps)+1)
			for i, s := range tt.steps {
				clock.advance(s.advance)
				if s.release > 0 {
					releases[s.release]()
					continue
				}
				status, retry, release := admitStatus(t, l, s.ip)
				if status != s.wantStatus || retry != s.wantRetry {
					t.Fatalf("step %d (%s): got %d Retry-After %q, want %d %q", i+1, s.ip, status, retry, s.wantStatus, s.wantRetry)
				}
				releases[i+1] = release
			}
		})
	}
}

func TestLimiterReleaseIdempotent(t *testing.T) {
	l, _ := newTestLimiter(Limits{MaxConns: 1, MaxConnsPerIP: 1})
	_, _, r1 := admitStatus(t, l, "192.0.2.1")
	r1()
	r1()
	_, _, r2 := admitStatus(t, l, "192.0.2.1")
	if status, _, _ := admitStatus(t, l, "192.0.2.2"); status != 503 {
		t.Errorf("got status %d after a double release, want 503 (the slot counted once)", status)
	}
	r2()
	if got := l.tracked(); got != 0 {
		t.Errorf("got %d tracked clients with no rate limit and nothing open, want 0", got)
	}
}

func TestLimiterBounded(t *testing.T) {
	l, clock := newTestLimiter(Limits{MaxConnsPerIP: 1, RatePerIP: 1, Burst: 1})
	l.max = 16
	// Clients holding a connection are never forgotten.
	var held []func()
	for i := range 4 {
		_, _, r := admitStatus(t, l, "198.51.100."+strconv.Itoa(i))
		held = append(held, r)
	}
	// A flood of one-off clients, each leaving a drained bucket.
	for i := range 1000 {
		clock.advance(time.Millisecond)
		status, _, release := admitStatus(t, l, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
		if status != 0 {
			t.Fatalf("client %d: got %d, want admitted", i, status)
		}
		release()
		if got := l.tracked(); got > l.max {
			t.Fatalf("after %d clients: got %d tracked, want at most %d", i+1, got, l.max)
		}
	}
	for i := range 4 {
		if status, _, _ := admitStatus(t, l, "198.51.100."+strconv.Itoa(i)); status != 503 {
			t.Errorf("held client %d: got %d, want 503 (its entry kept)", i, status)
		}
	}
	// The most recent client is remembered: its bucket is still empty.
	if status, _, _ := admitStatus(t, l, "10.0.3.231"); status != 429 {
		t.Errorf("latest client: got %d, want 429 (its entry kept)", status)
	}
	// Once buckets refill, idle entries go first and cost nothing.
	clock.advance(time.Hour)
	for i := range 20 {
		if _, _, release := admitStatus(t, l, netip.AddrFrom4([4]byte{172, 16, 0, byte(i)}).String()); release != nil {
			release()
		}
	}
	if got := l.tracked(); got > l.max {
		t.Errorf("got %d tracked, want at most %d", got, l.max)
	}
	for _, r := range held {
		r()
	}
}

// TestLimiterConcurrent hammers Admit and release from several goroutines
// under -race and checks the counts return to zero.
func TestLimiterConcurrent(t *testing.T) {
	l := NewLimiter(Limits{MaxConns: 50, MaxConnsPerIP: 5, RatePerIP: 1e6, Burst: 1000})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() { // worker: admits and releases 200 times, then ends
			ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(g % 4)})
			for range 200 {
				if release, err := l.Admit(ip); err == nil {
					release()
				}
			}
		})
	}
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total != 0 {
		t.Errorf("got total %d after all releases, want 0", l.total)
	}
	for k, st := range l.ips {
		if st.conns != 0 {
			t.Errorf("%v: got %d open, want 0", k, st.conns)
		}
	}
}
