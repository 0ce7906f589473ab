package tunnel

import (
	"context"
	"errors"
	"hash"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// goroutinesEnv, set, makes startBridge turn the event loop off: the
// package's tests then cover the goroutine pumps (TestGoroutinePumps).
const goroutinesEnv = "WSBRIDGE_TEST_GOROUTINE_PUMPS"

// netHTTPEnv, set, makes startBridge serve with net/http alone, without
// Server.Listener: every upgrade goes through ServeHTTP (TestNetHTTPAccept).
const netHTTPEnv = "WSBRIDGE_TEST_NET_HTTP"

// bridge is a tunnel.Server on a loopback http.Server.
type bridge struct {
	*Server
	addr   string
	log    *testLogWriter
	onLoop bool // Server.Listener accepts for the event loop
}

// testServer runs a tunnel.Server on a loopback HTTP server until the test
// ends.
func testServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	b := startBridge(t, cfg, nil)
	return b.Server, b.addr
}

// startBridge runs a Server for cfg on an http.Server on 127.0.0.1:0, which
// configure may adjust. At the end of the test both are shut down and the
// Server must report no error. The environment can make it run sessions
// on goroutines (goroutinesEnv) or leave every request to net/http
// (netHTTPEnv).
func startBridge(t testing.TB, cfg Config, configure func(*http.Server)) *bridge {
	t.Helper()
	if os.Getenv(goroutinesEnv) != "" {
		cfg.DisableEventLoop = true // TestGoroutinePumps's run
	}
	return serveBridge(t, cfg, configure, os.Getenv(netHTTPEnv) == "")
}

// serveBridge is startBridge whatever the environment says: listener
// serves through Server.Listener, which takes the upgrades this Server
// can accept on its event loop (b.onLoop reports whether it could), as
// the binary does.
func serveBridge(t testing.TB, cfg Config, configure func(*http.Server), listener bool) *bridge {
	t.Helper()
	return serveBridgeWith(t, cfg, nil, configure, listener)
}

// serveBridgeWith is serveBridge with prepare, if not nil, run on the
// Server before it serves.
func serveBridgeWith(t testing.TB, cfg Config, prepare func(*Server), configure func(*http.Server), listener bool) *bridge {
	t.Helper()
	var lw *testLogWriter
	if cfg.LoggerFactory == nil {
		var lf = testLogger(t)
		lw = lf.Writer.(*testLogWriter)
		cfg.LoggerFactory = lf
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	if configure != nil {
		configure(hs)
	}
	sl := ln
	if listener {
		sl = s.Listener(ln, ListenOptions{HandshakeTimeout: hs.ReadHeaderTimeout, MaxHeaderBytes: hs.MaxHeaderBytes})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(sl)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return &bridge{Server: s, addr: ln.Addr().String(), log: lw, onLoop: sl != ln}
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

// recv waits for a value on ch, failing the test after waitFor.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return recvWithin(t, ch, waitFor, what)
}

// recvWithin waits for a value on ch, failing the test after d.
func recvWithin[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// countingHash is a hash.Hash that also counts what it was fed.
type countingHash struct {
	hash.Hash
	n int64
}

func (h *countingHash) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	return h.Hash.Write(p)
}

// recorder collects the session hooks' calls.
type recorder struct {
	starts chan struct{}
	ends   chan SessionStats
}

// hooks sets cfg's session hooks to record into a new recorder.
func hooks(cfg *Config) *recorder {
	r := &recorder{starts: make(chan struct{}, 2000), ends: make(chan SessionStats, 2000)}
	cfg.OnSessionStart = func() { r.starts <- struct{}{} }
	cfg.OnSessionEnd = func(st SessionStats) { r.ends <- st }
	return r
}

// checkEnd waits for the next session's end and checks who closed it, the
// code and the bytes each way (a negative count is not checked).
func (r *recorder) checkEnd(t testing.TB, by string, code int, up, down int64) SessionStats {
	t.Helper()
	st := recv(t, r.ends, "OnSessionEnd")
	if st.ClosedBy != by || st.CloseCode != code {
		t.Errorf("stats: got closed by %q code %d, want %q code %d (%s)", st.ClosedBy, st.CloseCode, by, code, st)
	}
	if (up >= 0 && st.Up != up) || (down >= 0 && st.Down != down) {
		t.Errorf("stats: got up %d down %d, want up %d down %d", st.Up, st.Down, up, down)
	}
	if st.Client == "" || st.Target == "" || st.Duration <= 0 {
		t.Errorf("stats: got client %q target %q duration %v, want both addresses and a duration", st.Client, st.Target, st.Duration)
	}
	return st
}
