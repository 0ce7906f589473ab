package tunnel

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// events is an Observer that records what it is told.
type events struct {
	mu         sync.Mutex
	handshakes []string
	dials      []error
	durations  []time.Duration
}

func (e *events) Handshake(result string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handshakes = append(e.handshakes, result)
}

func (e *events) Dialed(d time.Duration, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dials = append(e.dials, err)
	e.durations = append(e.durations, d)
}

func (e *events) snapshot() (handshakes []string, dials []error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.handshakes...), append([]error(nil), e.dials...)
}

// TestObserver: every upgrade request reports one result, every dial its
// outcome, and Totals counts sessions and bytes, live ones included.
func TestObserver(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	ev := &events{}
	cfg := Config{
		Observer: ev,
		Resolve: tokenRoutes(map[string]Route{
			"good": {Addr: tgt.addr},
			"dead": {Addr: testpeer.ClosedPort(t)},
		}),
	}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)

	// Accepted, with 5 bytes each way while live.
	c, _ := dialPath(t, b.addr, "/?token=good")
	echoThrough(t, c, "hello")
	// A session counts bytes once the receiving socket took them; on the
	// goroutine pumps the echo can reach the client before the pump that
	// wrote "hello" to the target has counted it.
	var tot Totals
	eventually(t, "live totals of 5 B each way", func() bool {
		tot = b.Totals()
		return tot.Up == 5 && tot.Down == 5
	})
	if tot.Active != 1 || tot.Sessions != 1 {
		t.Errorf("live totals: got %+v, want 1 active, 1 session, 5 B each way", tot)
	}
	// Unknown token: 404 before any dial.
	conn, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, resp, err := handshakeWS(conn, "/?token=nope", b.addr)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown token: got %v, %v; want 404", resp, err)
	}
	// Target down: 101, then Close 1011.
	d, _ := dialPath(t, b.addr, "/?token=dead")
	d.expectClose(t, frames.CloseInternalError, reasonDialFailed)
	// Not an upgrade at all: the fallback, not a handshake.
	page, err := http.Get("http://" + b.addr + "/?token=good")
	if err != nil {
		t.Fatal(err)
	}
	page.Body.Close()
	// An upgrade without a version: 426.
	req, _ := http.NewRequest("GET", "http://"+b.addr+"/", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err = http.DefaultClient.Do(req) // no key, no version
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("upgrade without a version: got %d, want 426", resp.StatusCode)
	}

	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	rec.checkEnd(t, "client", int(frames.CloseNormal), 5, 5)
	eventually(t, "the session to unregister", func() bool { return b.Totals().Active == 0 })
	if tot := b.Totals(); tot.Sessions != 1 || tot.Up != 5 || tot.Down != 5 {
		t.Errorf("totals after the end: got %+v, want 1 session, 5 B each way", tot)
	}

	hs, dials := ev.snapshot()
	want := []string{ResultAccepted, "not_found", ResultDialFailed, "upgrade_required"}
	if strings.Join(hs, ",") != strings.Join(want, ",") {
		t.Errorf("handshakes: got %v, want %v", hs, want)
	}
	if len(dials) != 2 || dials[0] != nil || dials[1] == nil {
		t.Errorf("dials: got %v, want one success then one failure", dials)
	}
}

// TestStatusResult: refusal statuses become metric-label words.
func TestStatusResult(t *testing.T) {
	for status, want := range map[int]string{
		400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
		426: "upgrade_required", 429: "too_many_requests", 502: "bad_gateway",
		503: "service_unavailable", 599: "599",
	} {
		if got := statusResult(status); got != want {
			t.Errorf("statusResult(%d) = %q, want %q", status, got, want)
		}
	}
}

// TestSessionStatsString: the closing log line is logfmt, quoting values
// that need it, and names the error's kind.
func TestSessionStatsString(t *testing.T) {
	st := SessionStats{
		Client: "198.51.100.9 via 127.0.0.1:4000", Target: "127.0.0.1:5900", Token: "abcd…",
		Up: 10, Down: 20, Duration: 1500 * time.Millisecond, ClosedBy: "target", CloseCode: 1011,
		CloseError: `read from target: "reset"`, ErrorKind: ErrorTarget,
	}
	want := `session closed client="198.51.100.9 via 127.0.0.1:4000" target=127.0.0.1:5900 token=abcd… closed_by=target code=1011 up=10 down=20 duration=1.5s error="read from target: \"reset\"" error_kind=target`
	if got := st.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	clean := SessionStats{Client: "127.0.0.1:1", Target: "127.0.0.1:2", ClosedBy: "client", CloseCode: 1000}
	if got, want := clean.String(), "session closed client=127.0.0.1:1 target=127.0.0.1:2 closed_by=client code=1000 up=0 down=0 duration=0s"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// memRecorder is a Recorder in memory.
type memRecorder struct {
	mu         sync.Mutex
	n          int64
	to, from   bytes.Buffer
	closeCalls int
}

func (r *memRecorder) ToClient(p []byte)   { r.mu.Lock(); r.to.Write(p); r.mu.Unlock() }
func (r *memRecorder) FromClient(p []byte) { r.mu.Lock(); r.from.Write(p); r.mu.Unlock() }
func (r *memRecorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeCalls++
	return nil
}

// TestRecord: each session gets its own recorder, numbered in order, with
// a copy of every byte each way, closed when the session ends.
func TestRecord(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	recs := make(chan *memRecorder, 2)
	cfg := Config{Target: tgt.addr, Record: func(n int64) Recorder {
		r := &memRecorder{n: n}
		recs <- r
		return r
	}}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	for i, msg := range []string{"first session", strings.Repeat("second ", 20000)} {
		c := dialWS(t, b.addr)
		echoThrough(t, c, msg)
		c.wr.WriteClose(frames.CloseNormal, "")
		c.expectClose(t, frames.CloseNormal, "")
		rec.checkEnd(t, "client", int(frames.CloseNormal), int64(len(msg)), int64(len(msg)))
		r := recv(t, recs, "a recorder")
		r.mu.Lock()
		if r.n != int64(i+1) || r.to.String() != msg || r.from.String() != msg || r.closeCalls != 1 {
			t.Errorf("session %d: recorder n=%d, %d B to client, %d B from client, closed %d times; want n=%d, %d B each way, closed once",
				i+1, r.n, r.to.Len(), r.from.Len(), r.closeCalls, i+1, len(msg))
		}
		r.mu.Unlock()
	}
}
