//go:build linux

package tunnel

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wsbridge/frames"
)

// TestGoroutinePumps runs this package's tests again in a child process
// with Config.DisableEventLoop set by startBridge: every test of the close
// mapping, limits and timeouts then holds for both ways a session can
// run.
func TestGoroutinePumps(t *testing.T) {
	if os.Getenv(goroutinesEnv) != "" {
		t.Skip("this is the run with the goroutine pumps")
	}
	if testing.Short() {
		t.Skip("-short: the package's tests run once, on the event loop")
	}
	args := []string{"-test.count=1", "-test.timeout=10m"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), goroutinesEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tests with the goroutine pumps failed: %v\n%s", err, failures(out))
	}
	if !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("the run with the goroutine pumps did not pass:\n%s", out)
	}
}

// failures cuts a test binary's output down to the failing tests' lines
// and what tests logged (all of it if there are no failures to find).
func failures(out []byte) string {
	var b strings.Builder
	keep := false
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "panic") || strings.HasPrefix(line, "FAIL") {
			keep = true
		}
		if strings.Contains(line, " INFO: ") {
			continue
		}
		// With -test.v a test's messages come before its --- FAIL line.
		if keep || strings.Contains(line, "_test.go:") {
			b.WriteString(line)
		}
	}
	if !keep {
		return string(out)
	}
	return b.String()
}

// TestEventLoopChoice: plain sessions run on the loop; with the loop
// turned off, or with traffic glyphs (which only the pumps print), they
// run on goroutines, and behave the same.
func TestEventLoopChoice(t *testing.T) {
	if os.Getenv(goroutinesEnv) != "" {
		t.Skip("the loop is off in this run")
	}
	tgt := startTarget(t, echoTarget)
	for _, tc := range []struct {
		name string
		cfg  Config
		loop bool
	}{
		{"plain", Config{}, true},
		{"disabled", Config{DisableEventLoop: true}, false},
		{"traffic", Config{Traffic: &bytes.Buffer{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Target = tgt.addr
			cfg.LoggerFactory = quietLogger()
			rec := hooks(&cfg)
			b := startBridge(t, cfg, nil)
			c := dialWS(t, b.addr)
			echoThrough(t, c, "hello")
			if got := onLoop(b.Server); got != tc.loop {
				t.Errorf("session on the event loop: got %v, want %v", got, tc.loop)
			}
			c.wr.WriteClose(frames.CloseNormal, "")
			c.expectClose(t, frames.CloseNormal, "")
			rec.checkEnd(t, "client", int(frames.CloseNormal), 5, 5)
		})
	}
}

// onLoop reports whether s's one live session runs on the event loop.
func onLoop(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.sessions {
		return p.ev != nil
	}
	return false
}

// TestEventLoopIdleCost: idle sessions on the loop hold no goroutines (the
// pumps hold two each), and when they end every descriptor they held is
// closed.
func TestEventLoopIdleCost(t *testing.T) {
	if os.Getenv(goroutinesEnv) != "" {
		t.Skip("the loop is off in this run")
	}
	const n = 200
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr, LoggerFactory: quietLogger()}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c0 := dialWS(t, b.addr) // the first session starts a loop
	recv(t, rec.starts, "the first session")
	echoThrough(t, c0, "x") // and its target has accepted: all its descriptors are open
	fds0 := openFDs(t)
	g0 := runtime.NumGoroutine()
	var cs []*wsClient
	for range n {
		cs = append(cs, dialWS(t, b.addr))
	}
	for i := range n {
		recv(t, rec.starts, fmt.Sprintf("session %d", i))
	}
	// The test's targets hold a goroutine per connection (echoTarget):
	// everything beyond those is the bridge's.
	if d := runtime.NumGoroutine() - g0 - n; d > n/10 {
		t.Errorf("%d idle sessions added %d goroutines besides their targets', want about none", n, d)
	}
	for _, c := range cs {
		echoThrough(t, c, "x")
		c.wr.WriteClose(frames.CloseNormal, "")
		c.expectClose(t, frames.CloseNormal, "")
		c.conn.Close()
	}
	for range n {
		recv(t, rec.ends, "a session's end")
	}
	// Each session held two sockets (client and target, the target's own
	// end belongs to the test): all closed once the sessions ended.
	deadline := time.Now().Add(waitFor)
	for openFDs(t) > fds0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors open after the sessions ended, want %d: %v", openFDs(t), fds0, fdNames())
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
	c0.conn.Close()
}

// fdNames lists what this process's descriptors refer to.
func fdNames() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var names []string
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		names = append(names, e.Name()+"="+target)
	}
	return names
}

// TestEventLoopPingFlood: a client that sends pings and does not read the
// pongs stops being read once a bounded backlog of pongs waits for it (its
// writes then stall, as with the pumps, where the pong write blocks); when
// it reads, every ping is answered in order and the session goes on.
func TestEventLoopPingFlood(t *testing.T) {
	const pings = 100_000 // 13 MB: beyond what the sockets' buffers hold
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr, LoggerFactory: quietLogger()}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	c := dialWS(t, b.addr)
	c.conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
	c.conn.(*net.TCPConn).SetReadBuffer(64 << 10)
	c.conn.SetDeadline(time.Time{})
	payload := bytes.Repeat([]byte("p"), frames.MaxControlPayload)
	var progress atomic.Int64
	werr := make(chan error, 1)
	go func() { // the client's writer; ends when all pings are out
		for range pings {
			if err := c.wr.WriteControl(frames.OpPing, payload); err != nil {
				werr <- err
				return
			}
			progress.Add(1)
		}
		werr <- nil
	}()
	if n := waitStall(t, &progress); n >= pings {
		t.Fatalf("all %d pings went out without the client reading, want the writer stalled", n)
	}
	if os.Getenv(goroutinesEnv) == "" {
		b.mu.Lock()
		for p := range b.sessions {
			p.mu.Lock()
			l := p.ev.l // set under p.mu as the session started
			p.mu.Unlock()
			l.mu.Lock()
			if q := len(p.ev.down.b); q > pongBacklog+loopBufSize {
				t.Errorf("%d B wait for the client, want at most %d", q, pongBacklog+loopBufSize)
			}
			l.mu.Unlock()
		}
		b.mu.Unlock()
	}
	c.conn.SetReadDeadline(time.Now().Add(waitFor))
	for i := range pings {
		h, err := c.rd.NextFrame() // c.next would skip the pongs
		if err != nil {
			t.Fatalf("after %d pongs: %v", i, err)
		}
		if h.Op != frames.OpPong || !bytes.Equal(c.rd.ControlPayload(), payload) {
			t.Fatalf("frame %d: got %v %q, want a pong with the ping's payload", i, h.Op, c.rd.ControlPayload())
		}
	}
	if err := recv(t, werr, "the writer"); err != nil {
		t.Fatal(err)
	}
	echoThrough(t, c, "still bridged")
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	rec.checkEnd(t, "client", int(frames.CloseNormal), -1, -1)
}

// TestDribbledFrames: frames that reach the bridge in pieces of 1 to 7
// bytes, each its own write (headers, masking keys and control frames cut
// anywhere across reads), still arrive whole: the payload exact at the
// target, every ping answered with its payload, the Close echoed.
func TestDribbledFrames(t *testing.T) {
	res := make(chan sinkResult, 1)
	tgt := startTarget(t, sinkTarget(res, nil))
	b := startBridge(t, Config{Target: tgt.addr, LoggerFactory: quietLogger()}, nil)
	c := dialWS(t, b.addr)
	rng := mrand.New(mrand.NewPCG(7, 7))
	var stream, sent bytes.Buffer
	fw := frames.NewWriter(&stream, frames.RoleClient)
	pings := 0
	for i := range 300 {
		msg := randBytes(uint64(i), rng.IntN(300))
		sent.Write(msg)
		if err := fw.WriteMessage(frames.OpBinary, msg); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			fw.WriteControl(frames.OpPing, []byte(fmt.Sprint("ping ", i)))
			pings++
		}
	}
	fw.WriteClose(frames.CloseNormal, "dribbled")
	wrote := make(chan struct{})
	go func() { // the writer; its errors show as a short stream below
		defer close(wrote)
		b := stream.Bytes()
		for len(b) > 0 {
			n := min(len(b), 1+rng.IntN(7))
			if _, err := c.conn.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
	}()
	c.conn.SetReadDeadline(time.Now().Add(waitFor))
	for i := 0; ; i++ {
		h, err := c.rd.NextFrame()
		if err != nil {
			t.Fatalf("frame %d from the bridge: %v", i, err)
		}
		if h.Op == frames.OpClose {
			code, reason, _ := frames.ParseClose(c.rd.ControlPayload())
			if code != frames.CloseNormal || reason != "dribbled" || i != pings {
				t.Errorf("got Close %d %q after %d pongs, want 1000 \"dribbled\" after %d", code, reason, i, pings)
			}
			break
		}
		if want := fmt.Sprint("ping ", 10*i); h.Op != frames.OpPong || string(c.rd.ControlPayload()) != want {
			t.Fatalf("frame %d: got %v %q, want a pong %q", i, h.Op, c.rd.ControlPayload(), want)
		}
	}
	r := recv(t, res, "the target's EOF")
	if r.err != nil || r.n != int64(sent.Len()) || r.sum != sha256.Sum256(sent.Bytes()) {
		t.Errorf("target got %d B (%v), want the %d B sent", r.n, r.err, sent.Len())
	}
	recv(t, wrote, "the writer")
}

// TestCloseWithFIN: when the target's FIN completes a closing handshake
// that the client began, the loop's Close goes out with the FIN of the
// close that follows, in one segment: the client is woken once, not twice.
// The count is taken from the client's TCP_INFO between the moment its
// own Close was acknowledged and its EOF, so that the acknowledgement
// (sent at once or delayed, as the kernel likes) is outside it.
func TestCloseWithFIN(t *testing.T) {
	if os.Getenv(goroutinesEnv) != "" {
		t.Skip("the loop is off in this run; the pumps close through net.Conn")
	}
	c, eof, release := closingSession(t)
	recv(t, eof, "the target's EOF")
	eventually(t, "the client's Close to be acknowledged", func() bool { return tcpInfo(t, c.conn).Unacked == 0 })
	before := tcpInfo(t, c.conn).Segs_in
	close(release)
	c.expectClose(t, frames.CloseNormal, "done")
	c.expectEOF(t)
	if n := tcpInfo(t, c.conn).Segs_in - before; n != 1 {
		t.Errorf("the Close and the FIN came in %d segments, want 1", n)
	}
}

// TestCloseAfterClientExtra: a client that sends more after its Close (a
// ping here, which the bridge no longer reads) has its connection reset
// when the bridge closes it, and a reset drops whatever the socket still
// held: the Close must have left before it, not wait for the FIN.
func TestCloseAfterClientExtra(t *testing.T) {
	c, eof, release := closingSession(t)
	recv(t, eof, "the target's EOF")
	// A masked ping (mask key 0), written raw: the client's Writer
	// refuses frames after a Close.
	if _, err := c.conn.Write([]byte{0x89, 0x84, 0, 0, 0, 0, 'l', 'a', 't', 'e'}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the ping to be acknowledged", func() bool { return tcpInfo(t, c.conn).Unacked == 0 })
	close(release)
	c.expectClose(t, frames.CloseNormal, "done")
	c.expectEOF(t) // or the reset
}

// closingSession opens a session whose client has sent Close 1000 "done"
// after one echo. The target closes its connection once release is
// closed (at the end of the test at the latest); eof says it has read
// the bridge's FIN.
func closingSession(t *testing.T) (c *wsClient, eof, release chan struct{}) {
	eof, release = make(chan struct{}), make(chan struct{})
	tgt := startTarget(t, func(c *net.TCPConn) {
		io.Copy(c, c) // the echo, until the bridge's FIN
		close(eof)
		<-release
		c.Close()
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	b := startBridge(t, Config{Target: tgt.addr, LoggerFactory: quietLogger()}, nil)
	c = dialWS(t, b.addr)
	echoThrough(t, c, "hello")
	if err := c.wr.WriteClose(frames.CloseNormal, "done"); err != nil {
		t.Fatal(err)
	}
	return c, eof, release
}

// tcpInfo is the kernel's TCP_INFO for c.
func tcpInfo(t *testing.T, c net.Conn) *unix.TCPInfo {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ti *unix.TCPInfo
	var ierr error
	if err := rc.Control(func(fd uintptr) { ti, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil {
		t.Fatal(err)
	}
	if ierr != nil {
		t.Fatalf("TCP_INFO: %v", ierr)
	}
	return ti
}

// TestLoopsFollowGOMAXPROCS: the Server runs no more loops than there are
// Ps (internal/procs changes GOMAXPROCS while wsbridge runs): with one P
// every session shares one loop, and with two a new session starts a
// second loop.
func TestLoopsFollowGOMAXPROCS(t *testing.T) {
	if os.Getenv(goroutinesEnv) != "" {
		t.Skip("the loop is off in this run")
	}
	old := runtime.GOMAXPROCS(2) // two slots at least, whatever the host
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr, LoggerFactory: quietLogger()}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	runtime.GOMAXPROCS(1)
	var cs []*wsClient
	for i := range 3 {
		c := dialWS(t, b.addr)
		recv(t, rec.starts, fmt.Sprintf("session %d", i))
		echoThrough(t, c, "x")
		cs = append(cs, c)
	}
	if n := runningLoops(b.Server); n != 1 {
		t.Errorf("%d loops with GOMAXPROCS 1, want 1", n)
	}
	runtime.GOMAXPROCS(2)
	c := dialWS(t, b.addr)
	recv(t, rec.starts, "the session after GOMAXPROCS 2")
	echoThrough(t, c, "x")
	cs = append(cs, c)
	if n := runningLoops(b.Server); n != 2 {
		t.Errorf("%d loops with GOMAXPROCS 2, want 2", n)
	}
	for _, c := range cs {
		if !sessionOnLoop(b.Server, c) {
			t.Errorf("session %s not on a loop", c.conn.LocalAddr())
		}
		c.wr.WriteClose(frames.CloseNormal, "")
		c.expectClose(t, frames.CloseNormal, "")
		recv(t, rec.ends, "a session's end")
	}
}

// runningLoops counts s's running event loops.
func runningLoops(s *Server) int {
	e := s.eng
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, l := range e.loops {
		if l != nil {
			n++
		}
	}
	return n
}
