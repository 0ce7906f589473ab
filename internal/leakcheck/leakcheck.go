// Package leakcheck fails a package's tests when goroutines started by the
// package outlive them. Each package's TestMain calls Main.
package leakcheck

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// wait bounds how long Main waits for goroutines to wind down: they end
// asynchronously after a test's last event (a conn closed, a handler
// returning).
const wait = 10 * time.Second

// Main runs the tests, then fails the run if goroutines running code of
// pkg (an import path such as "wsbridge/tunnel") are left. Fuzzing runs
// are exempt: the fuzz engine runs targets on workers of its own.
func Main(m *testing.M, pkg string) {
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(code)
	}
	if leaked := waitLeaks(pkg, wait); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "%d goroutines leaked:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// waitLeaks polls until no goroutine of pkg is left, or d has passed, and
// returns the stacks of those left.
func waitLeaks(pkg string, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		leaked := leakedGoroutines(pkg)
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond) // polling interval of the bounded wait
	}
}

// leakedGoroutines returns the stacks of goroutines that run pkg's code or
// were started by it, except TestMain's own.
func leakedGoroutines(pkg string) []string {
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
		if strings.Contains(g, pkg+".") && !strings.Contains(g, pkg+".TestMain(") &&
			!strings.Contains(g, "wsbridge/internal/leakcheck.") {
			leaked = append(leaked, g)
		}
	}
	return leaked
}
