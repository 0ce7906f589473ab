package client

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines of this package (the client's or
// the tests' own) outlive the tests.
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
// passed, and returns the stacks of those left.
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
		if strings.Contains(g, "wsbridge/client.") && !strings.Contains(g, "wsbridge/client.TestMain(") &&
			!strings.Contains(g, "wsbridge/client.leakedGoroutines(") {
			leaked = append(leaked, g)
		}
	}
	return leaked
}
