package tunnel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wsbridge/frames"
)

// TestShutdown: live sessions get Close 1001; Shutdown returns nil once
// they have replied; new upgrades are refused with 503.
func TestShutdown(t *testing.T) {
	const sessions = 3
	ended := make(chan endEvent, sessions)
	tgt := startTarget(t, readerTarget(ended))
	cfg := Config{Target: tgt.addr, CloseTimeout: 10 * time.Second}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	errs := make(chan error, sessions)
	for range sessions {
		c := dialWS(t, b.addr)
		recv(t, rec.starts, "OnSessionStart")
		go func() { // the client: waits for the Close, replies
			code, reason, err := c.readUntilClose(io.Discard)
			if err == nil && (code != frames.CloseGoingAway || reason != "Server shutting down") {
				err = errors.New("got Close " + code.String() + " " + reason + `, want 1001 "Server shutting down"`)
			}
			if err == nil {
				err = c.wr.WriteClose(frames.CloseGoingAway, "")
			}
			errs <- err
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	start := time.Now()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: got %v, want nil", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v, want it back as soon as the clients replied", d)
	}
	for range sessions {
		if err := recv(t, errs, "a client"); err != nil {
			t.Error(err)
		}
		if ev := recv(t, ended, "a target's close"); ev.err != io.EOF {
			t.Errorf("target: got %v, want EOF", ev.err)
		}
		rec.checkEnd(t, "server", 1001, 0, 0)
	}
	if n := b.Active(); n != 0 {
		t.Errorf("got %d active sessions after Shutdown, want 0", n)
	}
	_, resp, err := tryDialWS(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || string(body) != "server shutting down\n" {
		t.Errorf("upgrade after Shutdown: got %d %q, want 503 \"server shutting down\\n\"", resp.StatusCode, body)
	}
	if !strings.Contains(b.log.String(), "refused upgrade: 503") {
		t.Errorf("log: want the 503 refusal logged")
	}
}

// TestShutdownNoReply: a client that never answers the 1001 is closed
// after CloseTimeout; Shutdown then returns nil.
func TestShutdownNoReply(t *testing.T) {
	const closeTimeout = 300 * time.Millisecond
	ended := make(chan endEvent, 1)
	tgt := startTarget(t, readerTarget(ended))
	cfg := Config{Target: tgt.addr, CloseTimeout: closeTimeout}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	recv(t, rec.starts, "OnSessionStart")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	start := time.Now()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: got %v, want nil (the session ended by CloseTimeout)", err)
	}
	if d := time.Since(start); d < closeTimeout*8/10 || d > 5*time.Second {
		t.Errorf("Shutdown took %v, want about CloseTimeout (%v)", d, closeTimeout)
	}
	c.expectClose(t, frames.CloseGoingAway, "Server shutting down")
	c.expectEOF(t)
	recv(t, ended, "the target's close")
	rec.checkEnd(t, "server", 1001, 0, 0)
}

// TestShutdownForce: when ctx ends before the sessions do, Shutdown closes
// them and returns ctx's error, even when a client that does not read
// holds up the 1001 (CloseTimeout is much longer than ctx).
func TestShutdownForce(t *testing.T) {
	stopped := make(chan error, 1)
	var progress atomic.Int64
	tgt := startTarget(t, func(c *net.TCPConn) {
		chunk := make([]byte, 32<<10)
		for { // floods the client, which does not read
			if _, err := c.Write(chunk); err != nil {
				stopped <- err
				return
			}
			progress.Add(int64(len(chunk)))
		}
	})
	cfg := Config{Target: tgt.addr, CloseTimeout: time.Minute}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	recv(t, rec.starts, "OnSessionStart")
	waitStall(t, &progress) // the bridge is now blocked writing to the client
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := b.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown: got %v, want %v", err, context.DeadlineExceeded)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v, want it back soon after ctx ended (300ms)", d)
	}
	if err := recv(t, stopped, "the target's write error"); err == nil {
		t.Error("target: got no write error, want the connection closed")
	}
	c.expectEOF(t)
	rec.checkEnd(t, "server", 1001, 0, -1)
	if b.Active() != 0 {
		t.Errorf("got %d active sessions, want 0", b.Active())
	}
}

// TestShutdownDuringDial: a dial in progress when Shutdown gives up is
// cancelled, and the upgrade it belonged to ends.
func TestShutdownDuringDial(t *testing.T) {
	dialing, dialErr := make(chan struct{}), make(chan error, 1)
	cfg := Config{
		Target:      "slow.test:1",
		DialTimeout: time.Minute,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			close(dialing)
			<-ctx.Done()
			dialErr <- ctx.Err()
			return nil, ctx.Err()
		},
	}
	b := startBridge(t, cfg, nil)
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() { // the client, blocked in its handshake while the dial hangs
		c, resp, err := tryDialWS(b.addr)
		if c != nil {
			c.conn.SetDeadline(time.Now().Add(waitFor))
			_, _, err = c.readUntilClose(io.Discard)
			c.conn.Close()
		}
		got <- result{resp, err}
	}()
	recv(t, dialing, "the dial")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := b.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown: got %v, want %v (the dial was still going)", err, context.DeadlineExceeded)
	}
	if err := recv(t, dialErr, "the dial's end"); err != context.Canceled {
		t.Errorf("dial context: got %v, want %v", err, context.Canceled)
	}
	r := recv(t, got, "the client")
	if r.resp == nil {
		t.Fatalf("client: got no response (%v)", r.err)
	}
	if r.resp.StatusCode == http.StatusSwitchingProtocols && r.err == nil {
		t.Errorf("client: got a Close reply wait, want the connection closed at once")
	}
}

// TestDrain: Drain refuses new upgrades and waits for live sessions
// without closing them.
func TestDrain(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	drained := make(chan error, 1)
	go func() { drained <- b.Drain(context.Background()) }()
	early := 0 // probes that came before Drain began: sessions after all
	eventually(t, "a 503 for new upgrades", func() bool {
		c, resp, err := tryDialWS(b.addr)
		if c != nil {
			early++
			c.conn.Close()
		}
		return err == nil && resp.StatusCode == http.StatusServiceUnavailable
	})
	// The live session still bridges.
	for i := range 3 {
		if err := c.wr.WriteMessage(frames.OpBinary, []byte("draining")); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := c.readN(&got, 8); err != nil || got.String() != "draining" {
			t.Fatalf("round trip %d while draining: got %q (%v), want \"draining\"", i, got.String(), err)
		}
		select {
		case err := <-drained:
			t.Fatalf("Drain returned %v with a live session", err)
		default:
		}
	}
	c.wr.WriteClose(frames.CloseNormal, "done")
	c.expectClose(t, frames.CloseNormal, "done")
	if err := recv(t, drained, "Drain"); err != nil {
		t.Errorf("Drain: got %v, want nil", err)
	}
	for range early {
		// Each probe that got a session dropped it at once, long before
		// the Close above.
		if st := recv(t, rec.ends, "an early probe's end"); st.Up != 0 || st.Down != 0 {
			t.Errorf("the first ends are the probes', got %s", st)
		}
	}
	rec.checkEnd(t, "client", 1000, 24, 24)
}

// TestDrainTimeout: when ctx ends first, Drain closes what is left.
func TestDrainTimeout(t *testing.T) {
	ended := make(chan endEvent, 1)
	tgt := startTarget(t, readerTarget(ended))
	cfg := Config{Target: tgt.addr}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	recv(t, rec.starts, "OnSessionStart")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := b.Drain(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Drain: got %v, want %v", err, context.DeadlineExceeded)
	}
	// Closed without a Close frame: Drain promises not to close politely.
	if _, _, err := c.readUntilClose(io.Discard); err == nil {
		t.Error("got a Close frame, want the connection force-closed")
	}
	recv(t, ended, "the target's close")
	st := rec.checkEnd(t, "server", 0, 0, 0)
	if st.CloseError == "" || st.ErrorKind != ErrorShutdownTimeout {
		t.Errorf("stats: got CloseError %q kind %q, want the shutdown timeout", st.CloseError, st.ErrorKind)
	}
}

// TestTraffic: the --traffic glyphs for each direction.
func TestTraffic(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	tgt := startTarget(t, echoTarget)
	b := startBridge(t, Config{Target: tgt.addr, Traffic: lockedWriter{&mu, &buf}}, nil)
	c := dialWS(t, b.addr)
	c.wr.WriteMessage(frames.OpBinary, []byte("hello"))
	var got bytes.Buffer
	if err := c.readN(&got, 5); err != nil {
		t.Fatal(err)
	}
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	c.expectEOF(t)
	mu.Lock()
	glyphs := buf.String()
	mu.Unlock()
	// '}' frame from the client, '>' to the target, '<' from the target,
	// '{' frame to the client; the Close frames count as frames. The two
	// directions interleave, so only the counts are fixed.
	for g, want := range map[string]int{"}": 2, ">": 1, "<": 1, "{": 2} {
		if got := strings.Count(glyphs, g); got != want {
			t.Errorf("got glyphs %q: %d %q, want %d", glyphs, got, g, want)
		}
	}
	if i, j := strings.Index(glyphs, "}"), strings.Index(glyphs, ">"); i > j {
		t.Errorf("got glyphs %q, want the client's frame '}' before its bytes go out '>'", glyphs)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestStopDuringDial: an upgrade whose dial is under way when Drain or
// Shutdown starts still gets its session: bridged as usual under Drain,
// sent Close 1001 under Shutdown (which may not have seen it yet).
func TestStopDuringDial(t *testing.T) {
	for _, shutdown := range []bool{false, true} {
		name := "drain"
		if shutdown {
			name = "shutdown"
		}
		t.Run(name, func(t *testing.T) {
			tgt := startTarget(t, echoTarget)
			dialing, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			cfg := Config{
				Target: tgt.addr,
				Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
					first := false
					once.Do(func() { first = true })
					if first { // the upgrade under test waits here
						close(dialing)
						<-release
					}
					var d net.Dialer
					return d.DialContext(ctx, network, addr)
				},
			}
			rec := hooks(&cfg)
			b := startBridge(t, cfg, nil)
			type dialed struct {
				c   *wsClient
				err error
			}
			got := make(chan dialed, 1)
			go func() { // the client, in its handshake until release
				c, resp, err := tryDialWS(b.addr)
				if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
					err = errors.New("got status " + resp.Status + ", want 101")
				}
				got <- dialed{c, err}
			}()
			recv(t, dialing, "the dial")
			stopped := make(chan error, 1)
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			go func() { // Drain or Shutdown, waiting for the session
				if shutdown {
					stopped <- b.Shutdown(ctx)
				} else {
					stopped <- b.Drain(ctx)
				}
			}()
			eventually(t, "a 503 for new upgrades", func() bool {
				c, resp, err := tryDialWS(b.addr)
				if c != nil {
					c.conn.Close()
				}
				return err == nil && resp.StatusCode == http.StatusServiceUnavailable
			})
			close(release)
			d := recv(t, got, "the 101")
			if d.err != nil {
				t.Fatalf("handshake: %v", d.err)
			}
			c := d.c
			defer c.conn.Close()
			recv(t, rec.starts, "OnSessionStart")
			if shutdown {
				c.expectClose(t, frames.CloseGoingAway, "Server shutting down")
				c.wr.WriteClose(frames.CloseGoingAway, "")
				c.expectEOF(t)
				rec.checkEnd(t, "server", 1001, 0, 0)
			} else {
				c.wr.WriteMessage(frames.OpBinary, []byte("late"))
				var echo bytes.Buffer
				if err := c.readN(&echo, 4); err != nil || echo.String() != "late" {
					t.Fatalf("echo while draining: got %q (%v), want \"late\"", echo.String(), err)
				}
				c.wr.WriteClose(frames.CloseNormal, "")
				c.expectClose(t, frames.CloseNormal, "")
				rec.checkEnd(t, "client", 1000, 4, 4)
			}
			if err := recv(t, stopped, "Drain/Shutdown"); err != nil {
				t.Errorf("got %v, want nil", err)
			}
		})
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// TestShutdownThousandSessions: Shutdown with 1000 live sessions sends
// every client a 1001, returns once they have replied, and leaves no
// goroutine or file descriptor behind.
func TestShutdownThousandSessions(t *testing.T) {
	const n = 1000
	fds0, gs0 := openFDs(t), runtime.NumGoroutine()
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr, LoggerFactory: quietLogger(), CloseTimeout: 10 * time.Second}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	clients := make([]*wsClient, 0, n)
	for i := range n {
		c, _, err := tryDialWS(ln.Addr().String())
		if err != nil || c == nil {
			t.Fatalf("session %d: %v", i, err)
		}
		c.conn.SetDeadline(time.Now().Add(time.Minute))
		clients = append(clients, c)
	}
	// Every session is live end to end: a byte goes round through each.
	for i, c := range clients {
		if err := c.wr.WriteMessage(frames.OpBinary, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clients {
		var got bytes.Buffer
		if err := c.readN(&got, 1); err != nil || got.Bytes()[0] != byte(i) {
			t.Fatalf("session %d: echo %v %v", i, got.Bytes(), err)
		}
	}
	if a := s.Active(); a != n {
		t.Fatalf("%d active sessions, want %d", a, n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hs.Shutdown(ctx) // stop accepting; sessions are the tunnel's
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.Shutdown(ctx) }()
	got1001 := 0
	for i, c := range clients {
		code, reason, err := c.readUntilClose(io.Discard)
		if err != nil || code != frames.CloseGoingAway {
			t.Errorf("session %d: got %d %q %v, want 1001", i, code, reason, err)
			continue
		}
		got1001++
		c.wr.WriteClose(frames.CloseGoingAway, "")
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	t.Logf("%d of %d clients got 1001; Shutdown took %v", got1001, n, time.Since(start))
	for _, c := range clients {
		c.expectEOF(t)
		c.conn.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if tot := s.Totals(); tot.Active != 0 || tot.Sessions != n || tot.Up != n || tot.Down != n {
		t.Errorf("totals %+v, want 0 active, %d sessions, %d B each way", tot, n, n)
	}
	// The target's goroutines end when the bridge's connections close.
	eventually(t, "goroutines and fds back to where they were", func() bool {
		return runtime.NumGoroutine() <= gs0+2 && openFDs(t) <= fds0+2 // the target's listener
	})
}
