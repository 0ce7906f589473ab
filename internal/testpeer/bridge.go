package testpeer

import (
	"bufio"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// startLimit bounds the wait for a bridge to listen: a build cache miss
// or a loaded machine can make start-up slow.
const startLimit = 20 * time.Second

// listeningRE finds the address in wsbridge's "listening on ADDR" line.
var listeningRE = regexp.MustCompile(`listening on (\S+)`)

// BuildBridge builds the wsbridge binary into a temporary directory and
// returns its path. It skips the test with -short.
func BuildBridge(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "wsbridge")
	out, err := exec.Command("go", "build", "-o", bin, "wsbridge").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Bridge is a running wsbridge binary.
type Bridge struct {
	Cmd    *exec.Cmd
	Addr   string     // from its first "listening on" log line
	Stderr *Output    // its log
	Exited chan error // receives cmd.Wait's result once
}

// StartBridge starts a wsbridge command prepared by the caller (arguments,
// environment, extra files, stdin) and waits, bounded, for its first
// "listening on" log line. The process is killed and reaped when the test
// ends; its log is shown if the test failed.
func StartBridge(t testing.TB, cmd *exec.Cmd) *Bridge {
	t.Helper()
	pr, pw := io.Pipe()
	b := &Bridge{Cmd: cmd, Stderr: NewOutput(), Exited: make(chan error, 1)}
	cmd.Stderr = io.MultiWriter(b.Stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { // reaps the process; ends when it exits
		b.Exited <- cmd.Wait()
		pw.Close()
	})
	found := make(chan string, 1)
	wg.Go(func() { // reads the log until the pipe closes
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	})
	t.Cleanup(func() {
		cmd.Process.Kill()
		wg.Wait()
		if t.Failed() {
			t.Logf("wsbridge log:\n%s", b.Stderr)
		}
	})
	select {
	case b.Addr = <-found:
	case err := <-b.Exited:
		t.Fatalf("wsbridge exited before listening: %v\n%s", err, b.Stderr)
	case <-time.After(startLimit):
		t.Fatalf("wsbridge did not listen within %v\n%s", startLimit, b.Stderr)
	}
	return b
}
