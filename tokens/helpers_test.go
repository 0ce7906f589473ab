package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/logging"

	"wsbridge/internal/testpeer"
)

// logBuffer is the log a test reads (see testpeer.Logger).
type logBuffer = testpeer.LogBuffer

// testLog returns a LoggerFactory writing at debug level to a buffer that
// the test can read.
func testLog(t testing.TB) (*logging.DefaultLoggerFactory, *logBuffer) { return testpeer.Logger(t) }

// newTestSource makes a source with a test logger, closed at cleanup.
func newTestSource(t testing.TB, plugin, source string, opts Options) (Source, *logBuffer) {
	t.Helper()
	lf, lb := testLog(t)
	opts.LoggerFactory = lf
	s, err := New(plugin, source, opts)
	if err != nil {
		t.Fatalf("New(%q, %q): %v", plugin, source, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, lb
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// eventually polls cond every few milliseconds until it holds, failing the
// test if it does not within d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still not %s", d, what)
		}
		<-tick.C
	}
}

// resolvesTo reports whether s resolves token to want.
func resolvesTo(s Source, token string, want Target) bool {
	got, err := s.Lookup(context.Background(), token)
	return err == nil && got == want
}

// notFound reports whether s reports token as not found.
func notFound(s Source, token string) bool {
	_, err := s.Lookup(context.Background(), token)
	return errors.Is(err, ErrNotFound)
}

func tcp(addr string) Target  { return Target{Network: "tcp", Addr: addr} }
func unix(path string) Target { return Target{Network: "unix", Addr: path} }
