package testpeer

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Need returns the path of the program name, or skips the test with a
// message saying what to install; in CI (CI=true) a missing program fails
// the test instead, since CI installs everything.
func Need(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
			if p := dir + "/" + name; isExec(p) {
				return p
			}
		}
		msg := fmt.Sprintf("needs %s (Debian package %s; .ci/run installs it)", name, pkg)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Process is a program started by a test.
type Process struct {
	Cmd    *exec.Cmd
	Output *Output // stdout and stderr together
	Exited chan struct{}
}

// Start runs a program until the test ends (then kills it and waits).
func Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(name, args...), Output: NewOutput(), Exited: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = p.Output, p.Output
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { // reaps the process; ends when it exits
		p.Cmd.Wait()
		close(p.Exited)
	})
	t.Cleanup(func() {
		p.Cmd.Process.Kill()
		wg.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output.String())
		}
	})
	return p
}

// Redis starts a throwaway redis-server on loopback (no persistence) and
// returns its address once it answers PING. extra are more arguments
// (e.g. "--requirepass", "secret").
func Redis(t testing.TB, extra ...string) string {
	t.Helper()
	addr, _ := RedisProcess(t, extra...)
	return addr
}

// RedisProcess is Redis, also returning the process, for tests that kill
// the server under a client.
func RedisProcess(t testing.TB, extra ...string) (string, *Process) {
	t.Helper()
	bin := Need(t, "redis-server", "redis-server")
	port := FreePort(t)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir()}, extra...)
	p := Start(t, bin, args...)
	if !p.Output.WaitFor("Ready to accept connections", 10*time.Second) {
		t.Fatalf("redis-server did not start:\n%s", p.Output.String())
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := redisPing(addr); err != nil {
		t.Fatalf("redis-server on %s: %v", addr, err)
	}
	return addr, p
}

// redisPing sends PING; any answer (+PONG, or -NOAUTH with a password)
// means the server is up.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}

// RedisCommand runs one command (no password) and returns the reply line.
func RedisCommand(t testing.TB, addr string, args ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// Output collects a process's output and lets a test wait for a line.
type Output struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

// NewOutput returns an empty Output.
func NewOutput() *Output { return &Output{changed: make(chan struct{})} }

// Write implements io.Writer.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

// String returns the output so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Count returns how often s occurs in the output so far.
func (o *Output) Count(s string) int {
	return strings.Count(o.String(), s)
}

// WaitForAll waits until s occurs n times in outs taken together, or
// until timeout; it reports whether it did.
func WaitForAll(s string, n int, timeout time.Duration, outs ...*Output) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	cases := make([]reflect.SelectCase, len(outs)+1)
	cases[len(outs)] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(deadline.C)}
	for {
		got := 0
		for i, o := range outs {
			o.mu.Lock()
			got += strings.Count(o.b.String(), s)
			cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(o.changed)}
			o.mu.Unlock()
		}
		if got >= n {
			return true
		}
		if i, _, _ := reflect.Select(cases); i == len(outs) {
			return false
		}
	}
}

// WaitFor waits until the output contains s n times (default once), or
// until timeout; it reports whether it did.
func (o *Output) WaitFor(s string, timeout time.Duration, n ...int) bool {
	want := 1
	if len(n) > 0 {
		want = n[0]
	}
	return WaitForAll(s, want, timeout, o)
}
