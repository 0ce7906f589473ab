//go:build linux

package tunnel

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wsbridge/frames"
)

// fdLimitEnv marks the child process of TestOutOfDescriptors, which may
// lower its own descriptor limit.
const fdLimitEnv = "WSBRIDGE_TEST_FD_LIMIT"

// TestOutOfDescriptors: a session that cannot get onto the event loop
// because the process is out of descriptors (a loop's epoll set and
// eventfd cannot be made, the session's sockets cannot be duplicated)
// runs on the goroutine pumps instead, says so in the log, and is bridged
// like any other; sessions already on the loop go on. The descriptor limit
// is the process's, so the test runs in a child process of its own.
func TestOutOfDescriptors(t *testing.T) {
	if os.Getenv(goroutinesEnv) != "" {
		t.Skip("the loop is off in this run")
	}
	if os.Getenv(fdLimitEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutOfDescriptors$", "-test.count=1", "-test.v", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), fdLimitEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestOutOfDescriptors")) {
			t.Fatalf("the child process (descriptor limit lowered) failed: %v\n%s", err, failures(out))
		}
		return
	}

	tgt := startTarget(t, echoTarget)
	// The bridges' target connections are made ahead, while descriptors
	// are to spare, and checked with an echo, which the target answers
	// once it has accepted: its accept then cannot race the bridge for the
	// last descriptors.
	targets := make(chan net.Conn, 3)
	predial := func() {
		c, err := net.Dial("tcp", tgt.addr)
		if err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		c.SetDeadline(time.Now().Add(waitFor))
		if _, err := c.Write([]byte("!")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, b[:]); err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Time{})
		targets <- c
	}
	cfg := Config{Target: tgt.addr, Dial: func(context.Context, string, string) (net.Conn, error) { return <-targets, nil }}
	rec := hooks(&cfg)
	// The listener's accept fails too, at the limit, until it is raised;
	// net/http retries and logs it.
	quiet := func(hs *http.Server) { hs.ErrorLog = log.New(io.Discard, "", 0) }
	b := startBridge(t, cfg, quiet)
	fresh := startBridge(t, cfg, quiet) // runs no loop until its first session

	predial()
	c0 := dialWS(t, b.addr) // with descriptors to spare: starts b's first loop
	recv(t, rec.starts, "the first session")
	echoThrough(t, c0, "on the loop")
	if !sessionOnLoop(b.Server, c0) {
		t.Fatal("the first session is not on the event loop")
	}

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) }) // before the bridges' shutdown
	// starved opens a session to bl with room for its two sockets (the
	// test's client and the bridge's end of it) and nothing more, and
	// checks that it is bridged on goroutines.
	starved := func(bl *bridge, what string) *wsClient {
		t.Helper()
		predial()
		limitFDs(t, old, 2)
		c := dialWS(t, bl.addr)
		recv(t, rec.starts, what)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Fatal(err)
		}
		echoThrough(t, c, what)
		if sessionOnLoop(bl.Server, c) {
			t.Errorf("%s: on the event loop, want it on goroutines", what)
		}
		return c
	}
	// b's second loop cannot start, and the session's sockets cannot be
	// duplicated for its first.
	c1 := starved(b, "the session beside the loop")
	// A Server without a running loop, and no descriptor for one.
	c2 := starved(fresh, "the session on the fresh bridge")

	for _, tc := range []struct {
		bl    *bridge
		cause string
	}{{b, "dup: too many open files"}, {fresh, "epoll_create1: too many open files"}} {
		if got := tc.bl.log.String(); !strings.Contains(got, "event loop: ") || !strings.Contains(got, tc.cause+"; using goroutines") {
			t.Errorf("log %q: want the fallback to goroutines and its cause (%s)", got, tc.cause)
		}
	}
	echoThrough(t, c0, "the loop's session goes on")
	for _, c := range []*wsClient{c0, c1, c2} {
		c.wr.WriteClose(frames.CloseNormal, "")
		c.expectClose(t, frames.CloseNormal, "")
	}
	for range 3 {
		st := recv(t, rec.ends, "a session's end")
		if st.ClosedBy != "client" || st.CloseCode != int(frames.CloseNormal) {
			t.Errorf("stats: %s, want closed by the client with 1000", st)
		}
	}
}

// sessionOnLoop reports whether the session of client c on s runs on the
// event loop.
func sessionOnLoop(s *Server, c *wsClient) bool {
	name := c.conn.LocalAddr().String()
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.sessions {
		if p.clientName == name {
			return p.ev != nil
		}
	}
	return false
}

// limitFDs lowers the soft descriptor limit so that exactly free more
// descriptors can be opened (the limit bounds descriptor numbers, and a new
// descriptor takes the lowest free number).
func limitFDs(t *testing.T, old syscall.Rlimit, free int) {
	t.Helper()
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	self := int(dir.Fd())
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		t.Fatal(err)
	}
	open := make(map[int]bool)
	for _, name := range names {
		if fd, err := strconv.Atoi(name); err == nil && fd != self {
			open[fd] = true
		}
	}
	// The directory's own descriptor is closed again: it does not count.
	limit, left := 0, free
	for ; left > 0 || open[limit]; limit++ {
		if !open[limit] {
			left--
		}
	}
	lim := syscall.Rlimit{Cur: uint64(limit), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
}
