package access

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines started by this package's code or
// tests outlive the tests. Fuzzing is exempt: the fuzz engine's workers run
// the targets on goroutines of its own.
func TestMain(m *testing.M) {
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(code)
	}
	if leaked := waitLeaks(5 * time.Second); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "%d goroutines leaked:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// waitLeaks polls until no goroutine of this package is left or d has
// passed, and returns the stacks of those left; goroutines wind down
// asynchronously after a test's last event, hence the bounded wait.
func waitLeaks(d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		leaked := leakedGoroutines()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// leakedGoroutines returns the stacks of goroutines running this package's
// code, except TestMain's own.
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
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "wsbridge/access.") && !strings.Contains(g, "wsbridge/access.TestMain(") &&
			!strings.Contains(g, "wsbridge/access.leakedGoroutines(") {
			leaked = append(leaked, g)
		}
	}
	return leaked
}
