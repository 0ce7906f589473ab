package tlsconf

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines started by this package (the
// listener's, the poller, or the tests' own) outlive the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if leaked := waitLeaks(10 * time.Second); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "%d goroutines leaked:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// waitLeaks polls until no goroutine of this package is left, or d has
// passed, and returns the stacks of those left. Goroutines wind down
// asynchronously after a test's last event, hence the bounded wait.
func waitLeaks(d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		leaked := leakedGoroutines()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// leakedGoroutines returns the stacks of goroutines that run this
// package's code or were started by it, except TestMain's own.
func leakedGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "wsbridge/tlsconf.") && !strings.Contains(g, "wsbridge/tlsconf.TestMain(") &&
			!strings.Contains(g, "wsbridge/tlsconf.leakedGoroutines(") {
			leaked = append(leaked, g)
		}
	}
	return leaked
}
