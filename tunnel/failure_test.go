package tunnel

import (
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// TestTargetRefused: a target that refuses the connection still gets the
// client a 101, then Close 1011, and the log names the target and cause.
func TestTargetRefused(t *testing.T) {
	addr := testpeer.ClosedPort(t)
	cfg := Config{Target: addr}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr, "Sec-WebSocket-Protocol: binary")
	c.expectClose(t, frames.CloseInternalError, "Failed to connect to downstream server")
	if err := c.wr.WriteClose(frames.CloseInternalError, ""); err != nil {
		t.Fatal(err)
	}
	c.expectEOF(t)
	if log := b.log.String(); !strings.Contains(log, addr) || !strings.Contains(log, "connection refused") {
		t.Errorf("log %q: want a line naming %s and \"connection refused\"", log, addr)
	}
	if len(rec.starts) != 0 {
		t.Errorf("got %d OnSessionStart calls, want 0 for a failed dial", len(rec.starts))
	}
}

// TestDialTimeout: a dial that outlives DialTimeout is abandoned: 101, then
// Close 1011.
func TestDialTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	dialErr := make(chan error, 1)
	cfg := Config{
		Target:      "blackhole.test:5900",
		DialTimeout: timeout,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			<-ctx.Done() // a black-holed SYN: nothing comes back
			dialErr <- ctx.Err()
			return nil, ctx.Err()
		},
	}
	b := startBridge(t, cfg, nil)
	start := time.Now()
	c := dialWS(t, b.addr)
	if d := time.Since(start); d < timeout {
		t.Errorf("101 after %v, want it after the dial gave up (%v)", d, timeout)
	}
	if err := recv(t, dialErr, "the dial"); err != context.DeadlineExceeded {
		t.Errorf("dial context: got %v, want %v", err, context.DeadlineExceeded)
	}
	c.expectClose(t, frames.CloseInternalError, "Failed to connect to downstream server")
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectEOF(t)
	if log := b.log.String(); !strings.Contains(log, "blackhole.test:5900") || !strings.Contains(log, "deadline exceeded") {
		t.Errorf("log %q: want a line naming the target and the timeout", log)
	}
}

// TestTargetReset: a target that resets the connection gets the client a
// prompt Close 1011, whether the bridge is reading or writing.
func TestTargetReset(t *testing.T) {
	for _, tc := range []struct {
		name      string
		afterByte bool
	}{{"idle", false}, {"after data", true}} {
		t.Run(tc.name, func(t *testing.T) {
			// The reset waits for the 101, so that it cannot hit the dial.
			start := make(chan struct{})
			tgt := startTarget(t, resetTarget(start, tc.afterByte))
			cfg := Config{Target: tgt.addr, CloseTimeout: 10 * time.Second}
			rec := hooks(&cfg)
			b := startBridge(t, cfg, nil)
			c := dialWS(t, b.addr)
			close(start)
			begin := time.Now()
			if tc.afterByte {
				if err := c.wr.WriteMessage(frames.OpBinary, []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			c.expectClose(t, frames.CloseInternalError, "Target connection error")
			if d := time.Since(begin); d > 5*time.Second {
				t.Errorf("Close after %v, want it promptly", d)
			}
			c.expectEOF(t)
			if st := rec.checkEnd(t, "target", 1011, -1, 0); st.ErrorKind != ErrorTarget {
				t.Errorf("stats: got error kind %q, want %q", st.ErrorKind, ErrorTarget)
			}
		})
	}
}

// TestClientVanishes: a client that drops the TCP connection without a
// Close (FIN or RST) gets the target closed promptly, after the bytes it
// sent.
func TestClientVanishes(t *testing.T) {
	for _, rst := range []bool{false, true} {
		name := "fin"
		if rst {
			name = "rst"
		}
		t.Run(name, func(t *testing.T) {
			ended := make(chan endEvent, 1)
			tgt := startTarget(t, readerTarget(ended))
			cfg := Config{Target: tgt.addr, CloseTimeout: 10 * time.Second}
			rec := hooks(&cfg)
			b := startBridge(t, cfg, nil)
			c := dialWS(t, b.addr)
			if err := c.wr.WriteMessage(frames.OpBinary, []byte("last words")); err != nil {
				t.Fatal(err)
			}
			recv(t, rec.starts, "OnSessionStart")
			if rst {
				c.conn.(*net.TCPConn).SetLinger(0)
			}
			start := time.Now()
			c.conn.Close()
			ev := recv(t, ended, "the target's close")
			if d := ev.at.Sub(start); d > 5*time.Second {
				t.Errorf("target closed %v after the client, want promptly", d)
			}
			if ev.err != io.EOF {
				t.Errorf("target: got %v, want EOF", ev.err)
			}
			if !rst && ev.n != int64(len("last words")) {
				t.Errorf("target got %d B, want %d", ev.n, len("last words"))
			}
			st := rec.checkEnd(t, "client", 0, -1, 0)
			if st.CloseError == "" || st.ErrorKind != ErrorClient {
				t.Errorf("stats: got CloseError %q kind %q, want why the session ended, kind %q", st.CloseError, st.ErrorKind, ErrorClient)
			}
		})
	}
}

// TestClientVanishesTargetStalled: a client that resets while the bridge
// is blocked writing to a target that does not read is found out by the
// heartbeat (its pings fail), not left until the target reads again.
func TestClientVanishesTargetStalled(t *testing.T) {
	const heartbeat = 50 * time.Millisecond
	var progress atomic.Int64
	release := make(chan struct{})
	tgt := startTarget(t, func(c *net.TCPConn) {
		c.SetReadBuffer(64 << 10)
		<-release // does not read
	})
	t.Cleanup(func() { close(release) })
	cfg := Config{Target: tgt.addr, Heartbeat: heartbeat}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	c.conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
	werr := make(chan error, 1)
	go func() { // the client's writer, until the kernel buffers are full
		chunk := make([]byte, 64<<10)
		for op := frames.OpBinary; ; op = frames.OpContinuation {
			if err := c.wr.WriteFragment(op, chunk, false); err != nil {
				werr <- err
				return
			}
			progress.Add(int64(len(chunk)))
		}
	}()
	// The stall lasts bpQuiet, six heartbeats: the client must not be judged
	// for a silence it cannot help.
	waitStall(t, &progress)
	select {
	case st := <-rec.ends:
		t.Fatalf("session ended while the client was only blocked: %s", st)
	default:
	}
	c.conn.(*net.TCPConn).SetLinger(0)
	c.conn.Close()
	recv(t, werr, "the client's writer")
	st := rec.checkEnd(t, "client", 0, -1, 0)
	if !strings.Contains(st.CloseError, "ping") {
		t.Errorf("stats: got CloseError %q, want the failed ping", st.CloseError)
	}
}
