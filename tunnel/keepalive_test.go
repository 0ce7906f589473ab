package tunnel

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"wsbridge/frames"
)

// TestHeartbeatAnswered: a client that answers the pings stays connected.
func TestHeartbeatAnswered(t *testing.T) {
	const heartbeat = 50 * time.Millisecond
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr, Heartbeat: heartbeat}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	c.stopAt = 6 // five intervals past the first ping: two would drop a silent client
	start := time.Now()
	if _, err := c.next(); !errors.Is(err, errEnoughPings) {
		t.Fatalf("waiting for pings: got %v, want %d pings", err, c.stopAt)
	}
	if d := time.Since(start); d < 5*heartbeat {
		t.Errorf("got %d pings in %v, want one per Heartbeat (%v)", c.pings, d, heartbeat)
	}
	// Still bridged:
	if err := c.wr.WriteMessage(frames.OpBinary, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	c.stopAt = 0
	var got bytes.Buffer
	if err := c.readN(&got, 10); err != nil || got.String() != "still here" {
		t.Fatalf("echo after %d pings: got %q (%v), want \"still here\"", c.pings, got.String(), err)
	}
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	rec.checkEnd(t, "client", 1000, 10, 10)
}

// TestHeartbeatSilent: a client that reads the pings but sends nothing is
// dropped after two pings, and its target closed.
func TestHeartbeatSilent(t *testing.T) {
	const heartbeat = 50 * time.Millisecond
	ended := make(chan endEvent, 1)
	tgt := startTarget(t, readerTarget(ended))
	cfg := Config{Target: tgt.addr, Heartbeat: heartbeat}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	c.noPong = true
	start := time.Now()
	_, err := c.next()
	var ce *errClose
	if errors.As(err, &ce) || err == nil {
		t.Fatalf("got %v, want the connection dropped", err)
	}
	if d := time.Since(start); d < heartbeat || c.pings < 1 {
		t.Errorf("dropped after %v and %d pings, want after at least one ping and interval", d, c.pings)
	}
	if ev := recv(t, ended, "the target's close"); ev.err != io.EOF {
		t.Errorf("target: got %v, want EOF", ev.err)
	}
	st := rec.checkEnd(t, "server", 0, 0, 0)
	if !strings.Contains(st.CloseError, "heartbeat") || st.ErrorKind != ErrorHeartbeat {
		t.Errorf("stats: got CloseError %q kind %q, want it to name the heartbeat", st.CloseError, st.ErrorKind)
	}
}

// TestHeartbeatLongMessage: a client streaming one long message (its frames
// taking longer than two heartbeats) is alive all along, even though it
// sends no new frame header in that time.
func TestHeartbeatLongMessage(t *testing.T) {
	const heartbeat = 30 * time.Millisecond
	res := make(chan sinkResult, 1)
	tgt := startTarget(t, sinkTarget(res, nil))
	b := startBridge(t, Config{Target: tgt.addr, Heartbeat: heartbeat}, nil)
	c := dialWS(t, b.addr)
	// One frame whose payload trickles in over about ten heartbeats.
	const size = 20 << 10
	hdr := frames.Header{Fin: true, Op: frames.OpBinary, Masked: true, Mask: testMask, Length: size}
	var hb [frames.MaxHeaderLen]byte
	c.conn.Write(hb[:frames.PutHeader(hb[:], hdr)])
	payload := randBytes(9, size)
	masked := bytes.Clone(payload)
	frames.Mask(testMask, 0, masked)
	tick := time.NewTicker(heartbeat / 4) // paces the trickle: 512 B a tick
	defer tick.Stop()
	for off := 0; off < size; off += 512 {
		<-tick.C
		if _, err := c.conn.Write(masked[off : off+512]); err != nil {
			t.Fatalf("after %d B: %v (dropped?)", off, err)
		}
	}
	c.wr.WriteClose(frames.CloseNormal, "")
	r := recv(t, res, "the target's EOF")
	if r.n != size || r.sum != [32]byte(sum(payload)) {
		t.Fatalf("target got %d B, want the %d B frame", r.n, size)
	}
	c.expectClose(t, frames.CloseNormal, "")
}

// TestIdleTimeout: data moving either way keeps a session; no data for
// IdleTimeout closes it with 1001.
func TestIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr, IdleTimeout: idle}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	var n int64
	for start := time.Now(); time.Since(start) < 3*idle; n++ {
		if err := c.wr.WriteMessage(frames.OpBinary, []byte{byte(n)}); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := c.readN(&got, 1); err != nil {
			t.Fatalf("round trip %d, %v after the first: %v, want the echo (not idle)", n, time.Since(start), err)
		}
	}
	start := time.Now()
	c.expectClose(t, frames.CloseGoingAway, "Idle timeout")
	if d := time.Since(start); d < idle*8/10 {
		t.Errorf("closed %v after the last data, want about IdleTimeout (%v)", d, idle)
	}
	c.wr.WriteClose(frames.CloseGoingAway, "")
	c.expectEOF(t)
	rec.checkEnd(t, "server", 1001, n, n)
}
