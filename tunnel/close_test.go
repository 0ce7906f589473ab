package tunnel

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"wsbridge/frames"
)

// TestClientCloseFirst: the client sends data, then Close. The target gets
// every byte, then FIN, and may go on sending: all of that reaches the
// client, then its Close comes back (same code and reason), then the TCP
// connection closes.
func TestClientCloseFirst(t *testing.T) {
	up, after := randBytes(21, 300000), randBytes(22, 200000)
	res := make(chan sinkResult, 1)
	ended := make(chan endEvent, 1)
	tgt := startTarget(t, func(c *net.TCPConn) {
		res <- hashUntilEOF(c)
		// Half-closed by the bridge: keep sending, then FIN.
		writeChunks(c, after, mrand.New(mrand.NewPCG(5, 5)), 7000)
		c.CloseWrite()
		readerTarget(ended)(c)
	})
	cfg := Config{Target: tgt.addr}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	recv(t, rec.starts, "OnSessionStart")

	rng := mrand.New(mrand.NewPCG(6, 6))
	for rest := up; len(rest) > 0; {
		n := min(len(rest), rng.IntN(50000)+1)
		if _, err := c.sendMessage(rest[:n], rng, 9000, 0); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := c.wr.WriteClose(4001, "bye now"); err != nil {
		t.Fatal(err)
	}
	r := recv(t, res, "the target's EOF")
	if r.err != nil || r.n != int64(len(up)) || r.sum != sha256.Sum256(up) {
		t.Fatalf("target got %d B before EOF (err %v), want the %d B sent before the Close", r.n, r.err, len(up))
	}
	var got bytes.Buffer
	code, reason, err := c.readUntilClose(&got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), after) {
		t.Errorf("client got %d B after its Close, want the %d B the target sent", got.Len(), len(after))
	}
	if code != 4001 || reason != "bye now" {
		t.Errorf("got Close %d %q, want the echo 4001 \"bye now\"", code, reason)
	}
	c.expectEOF(t)
	if ev := recv(t, ended, "the target's close"); ev.err != io.EOF {
		t.Errorf("target: got %v, want EOF", ev.err)
	}
	rec.checkEnd(t, "client", 4001, int64(len(up)), int64(len(after)))
}

// TestCloseEcho: every valid close code, and an empty Close, come back
// unchanged (an empty Close stays empty).
func TestCloseEcho(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	b := startBridge(t, Config{Target: tgt.addr}, nil)
	for _, tc := range []struct {
		code   frames.CloseCode
		reason string
	}{
		{frames.CloseNoStatus, ""}, // no payload at all
		{1000, ""}, {1001, "going"}, {1002, "x"}, {1003, ""}, {1007, ""}, {1008, "policy"},
		{1009, ""}, {1010, ""}, {1011, ""}, {1012, ""}, {1013, ""}, {1014, ""},
		{3000, "app"}, {4999, strings.Repeat("é", 61)},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			c := dialWS(t, b.addr)
			if err := c.wr.WriteMessage(frames.OpBinary, []byte("ping?")); err != nil {
				t.Fatal(err)
			}
			if err := c.wr.WriteClose(tc.code, tc.reason); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			code, reason, err := c.readUntilClose(&got)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || reason != tc.reason || got.String() != "ping?" {
				t.Errorf("got %q then Close %d %q, want \"ping?\" then %d %q", got.String(), code, reason, tc.code, tc.reason)
			}
			if n := len(c.rd.ControlPayload()); tc.code == frames.CloseNoStatus && n != 0 {
				t.Errorf("got a Close payload of %d B, want an empty one", n)
			}
			c.expectEOF(t)
		})
	}
}

// TestClientCloseTargetNeverFINs: after the client's Close, a target that
// keeps sending and never FINs is torn down after CloseTimeout.
func TestClientCloseTargetNeverFINs(t *testing.T) {
	const closeTimeout = 300 * time.Millisecond
	gotEOF := make(chan time.Time, 1)
	writeErr := make(chan error, 1)
	tgt := startTarget(t, func(c *net.TCPConn) {
		io.Copy(io.Discard, c)
		gotEOF <- time.Now()
		chunk := make([]byte, 1024)
		for { // until the bridge closes the connection
			if _, err := c.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
	})
	cfg := Config{Target: tgt.addr, CloseTimeout: closeTimeout}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	if err := c.wr.WriteClose(frames.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	start := recv(t, gotEOF, "the target's EOF")
	_, _, err := c.readUntilClose(io.Discard)
	if err == nil {
		t.Fatal("got a Close reply, want the session torn down without one")
	}
	werr := recv(t, writeErr, "the target's write error")
	if d := time.Since(start); d < closeTimeout*8/10 {
		t.Errorf("torn down %v after the target's EOF, want about CloseTimeout (%v)", d, closeTimeout)
	}
	if werr == nil {
		t.Errorf("target write: got no error, want one once the bridge closed")
	}
	st := rec.checkEnd(t, "client", 1000, 0, -1)
	if st.Down == 0 {
		t.Errorf("stats: got down 0, want what the target sent after the Close")
	}
}

// TestTargetCloseFirst: the target sends data, then FIN (half-close) or a
// full close. The client gets every byte, then Close 1000 "Target closed";
// what it sends before its reply still reaches a half-closed target; on the
// reply the target gets FIN and the TCP connection closes.
func TestTargetCloseFirst(t *testing.T) {
	for _, half := range []bool{true, false} {
		t.Run(fmt.Sprintf("half=%v", half), func(t *testing.T) {
			down, up := randBytes(31, 250000), randBytes(32, 120000)
			res := make(chan sinkResult, 1)
			tgt := startTarget(t, func(c *net.TCPConn) {
				writeChunks(c, down, mrand.New(mrand.NewPCG(7, 7)), 20000)
				if !half {
					return // closed by startTarget
				}
				c.CloseWrite()
				res <- hashUntilEOF(c)
			})
			cfg := Config{Target: tgt.addr}
			rec := hooks(&cfg)
			b := startBridge(t, cfg, nil)
			c := dialWS(t, b.addr)
			var got bytes.Buffer
			code, reason, err := c.readUntilClose(&got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), down) || code != 1000 || reason != "Target closed" {
				t.Fatalf("got %d B then Close %d %q, want the %d B sent then 1000 \"Target closed\"", got.Len(), code, reason, len(down))
			}
			wantUp := int64(0)
			if half {
				// Still open the other way: send before replying. A ping
				// now gets no pong (the bridge has sent its Close) but
				// must not end the session either.
				if err := c.wr.WriteControl(frames.OpPing, []byte("still there?")); err != nil {
					t.Fatal(err)
				}
				if _, err := c.sendMessage(up, mrand.New(mrand.NewPCG(8, 8)), 30000, 0); err != nil {
					t.Fatal(err)
				}
				wantUp = int64(len(up))
			}
			if err := c.wr.WriteClose(frames.CloseNormal, ""); err != nil {
				t.Fatal(err)
			}
			c.expectEOF(t)
			if c.pongs != 0 {
				t.Errorf("got %d pongs after the bridge's Close, want none", c.pongs)
			}
			if half {
				r := recv(t, res, "the target's EOF")
				if r.err != nil || r.n != int64(len(up)) || r.sum != sha256.Sum256(up) {
					t.Errorf("target got %d B (err %v), want the %d B sent before the Close reply, then EOF", r.n, r.err, len(up))
				}
			}
			rec.checkEnd(t, "target", 1000, wantUp, int64(len(down)))
		})
	}
}

// TestTargetCloseNoReply: a client that never answers the target's Close
// is torn down after CloseTimeout.
func TestTargetCloseNoReply(t *testing.T) {
	const closeTimeout = 300 * time.Millisecond
	ended := make(chan endEvent, 1)
	tgt := startTarget(t, func(c *net.TCPConn) {
		c.Write([]byte("bye"))
		c.CloseWrite()
		readerTarget(ended)(c)
	})
	cfg := Config{Target: tgt.addr, CloseTimeout: closeTimeout}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	var got bytes.Buffer
	code, _, err := c.readUntilClose(&got)
	if err != nil || code != 1000 || got.String() != "bye" {
		t.Fatalf("got %q then Close %d (err %v), want \"bye\" then 1000", got.String(), code, err)
	}
	start := time.Now()
	ev := recv(t, ended, "the target's close")
	if ev.err != io.EOF {
		t.Errorf("target: got %v, want EOF", ev.err)
	}
	if d := ev.at.Sub(start); d < closeTimeout*7/10 {
		t.Errorf("target closed %v after the Close, want about CloseTimeout (%v)", d, closeTimeout)
	}
	c.expectEOF(t)
	rec.checkEnd(t, "target", 1000, 0, 3)
}

// TestClientCloseSilentTargetKeepalive: with a heartbeat and an idle
// timeout far longer than CloseTimeout, a target that neither sends nor
// FINs after the client's Close is still torn down after CloseTimeout (the
// session must not wait for the keepalive to notice).
func TestClientCloseSilentTargetKeepalive(t *testing.T) {
	const closeTimeout = 300 * time.Millisecond
	release := make(chan struct{})
	gotEOF := make(chan time.Time, 1)
	tgt := startTarget(t, func(c *net.TCPConn) {
		io.Copy(io.Discard, c)
		gotEOF <- time.Now()
		<-release // holds the connection open, silent
	})
	t.Cleanup(func() { close(release) })
	cfg := Config{Target: tgt.addr, CloseTimeout: closeTimeout, IdleTimeout: time.Minute, Heartbeat: time.Minute}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	if err := c.wr.WriteClose(4002, "x"); err != nil {
		t.Fatal(err)
	}
	start := recv(t, gotEOF, "the target's EOF")
	st := rec.checkEnd(t, "client", 4002, 0, 0)
	if d := time.Since(start); d > 5*time.Second || st.Duration > 5*time.Second {
		t.Errorf("session ended %v after the target's EOF, want about CloseTimeout (%v)", d, closeTimeout)
	}
	c.expectEOF(t)
}
