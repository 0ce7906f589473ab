package access

import (
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxTrackedIPs bounds the per-client table. Clients with open
// connections are always kept (they are bounded by the open sockets);
// idle ones are forgotten, oldest first, once the table is this full.
const maxTrackedIPs = 1 << 16

// Limits says how many connections the bridge takes. For every field, zero
// or negative means no limit.
type Limits struct {
	// MaxConns caps open connections in total; more get 503.
	MaxConns int
	// MaxConnsPerIP caps open connections per client; more get 503.
	MaxConnsPerIP int
	// RatePerIP is the sustained number of handshakes per second each
	// client may start; faster ones get 429 with Retry-After.
	RatePerIP float64
	// Burst is how many handshakes a client may start at once before
	// RatePerIP applies (a noVNC page opens one; a dashboard may open
	// several). Below 1 it is RatePerIP rounded up, at least 1.
	Burst int
}

// Limiter admits connections within Limits. A client is its IPv4 address
// or its IPv6 /64 (what one subscriber usually gets, so that rotating
// through a /64 does not multiply the quota). It needs no goroutine: idle
// clients are forgotten lazily, when the table is full. The zero Limiter
// is not usable; use NewLimiter. Safe for concurrent use.
type Limiter struct {
	lim   Limits
	burst int
	now   func() time.Time // clock seam for tests
	max   int              // table bound; maxTrackedIPs but for tests

	mu    sync.Mutex
	total int
	ips   map[netip.Addr]*ipState
}

// ipState is one client's open connections and handshake bucket.
type ipState struct {
	conns  int
	bucket *rate.Limiter // nil without RatePerIP
	seen   time.Time
}

// NewLimiter returns a Limiter enforcing l.
func NewLimiter(l Limits) *Limiter {
	burst := l.Burst
	if burst < 1 {
		burst = max(1, int(math.Ceil(min(l.RatePerIP, math.MaxInt32))))
	}
	return &Limiter{lim: l, burst: burst, now: time.Now, max: maxTrackedIPs, ips: make(map[netip.Addr]*ipState)}
}

// Admit takes a slot for a new connection from ip, or refuses with a
// *Denied: 503 "too many connections" when the bridge or this client is at
// its cap, 429 with Retry-After (whole seconds) when the client starts
// handshakes too fast. The caller must call release, once, when the
// connection ends; later calls do nothing. An invalid ip (a unix-socket
// client) counts only towards MaxConns.
func (l *Limiter) Admit(ip netip.Addr) (release func(), err error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lim.MaxConns > 0 && l.total >= l.lim.MaxConns {
		return nil, &Denied{Status: http.StatusServiceUnavailable, Msg: "too many connections"}
	}
	key, st := l.clientLocked(ip, now)
	if st != nil {
		if l.lim.MaxConnsPerIP > 0 && st.conns >= l.lim.MaxConnsPerIP {
			return nil, &Denied{Status: http.StatusServiceUnavailable, Msg: "too many connections from your address"}
		}
		if st.bucket != nil && !st.bucket.AllowN(now, 1) {
			wait := (1 - st.bucket.TokensAt(now)) / l.lim.RatePerIP
			secs := max(1, int(math.Ceil(wait)))
			return nil, &Denied{Status: http.StatusTooManyRequests, Msg: http.StatusText(http.StatusTooManyRequests),
				Header: http.Header{"Retry-After": {strconv.Itoa(secs)}}}
		}
		st.conns++
	}
	l.total++
	done := false
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if done {
			return
		}
		done = true
		l.total--
		if st != nil {
			st.conns--
			if st.conns == 0 && st.bucket == nil && l.ips[key] == st {
				delete(l.ips, key) // nothing left to remember
			}
		}
	}, nil
}

// clientLocked returns ip's table key and entry, creating it; st is nil
// when no per-client limit applies or ip is invalid.
func (l *Limiter) clientLocked(ip netip.Addr, now time.Time) (netip.Addr, *ipState) {
	if !ip.IsValid() || (l.lim.MaxConnsPerIP <= 0 && l.lim.RatePerIP <= 0) {
		return netip.Addr{}, nil
	}
	key := clean(ip)
	if key.Is6() {
		key = netip.PrefixFrom(key, 64).Masked().Addr()
	}
	st := l.ips[key]
	if st == nil {
		if len(l.ips) >= l.max {
			l.evictLocked(now)
		}
		st = &ipState{}
		if l.lim.RatePerIP > 0 {
			st.bucket = rate.NewLimiter(rate.Limit(l.lim.RatePerIP), l.burst)
		}
		l.ips[key] = st
	}
	st.seen = now
	return key, st
}

// evictLocked makes room in a full table. It first forgets idle clients
// whose bucket has refilled (forgetting them changes nothing), then, if
// the table is still over 7/8 full, the idle clients seen longest ago;
// evicting an eighth at a time keeps the cost per Admit low. Clients with
// open connections are never forgotten.
func (l *Limiter) evictLocked(now time.Time) {
	var idle []netip.Addr
	for k, st := range l.ips {
		switch {
		case st.conns > 0:
		case st.bucket == nil || st.bucket.TokensAt(now) >= float64(l.burst):
			delete(l.ips, k)
		default:
			idle = append(idle, k)
		}
	}
	target := l.max - max(1, l.max/8)
	if len(l.ips) <= target {
		return
	}
	slices.SortFunc(idle, func(a, b netip.Addr) int { return l.ips[a].seen.Compare(l.ips[b].seen) })
	for _, k := range idle[:min(len(idle), len(l.ips)-target)] {
		delete(l.ips, k)
	}
}

// tracked returns the table size, for tests.
func (l *Limiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ips)
}
