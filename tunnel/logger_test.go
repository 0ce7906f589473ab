package tunnel

import (
	"strings"
	"sync"
	"testing"

	"github.com/pion/logging"
)

// testLogWriter sends log lines to t.Log while the test runs.
type testLogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
	buf  strings.Builder
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// String returns everything logged so far.
func (w *testLogWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func testLogger(t testing.TB) *logging.DefaultLoggerFactory {
	lw := &testLogWriter{t: t}
	t.Cleanup(func() { lw.mu.Lock(); lw.done = true; lw.mu.Unlock() })
	return &logging.DefaultLoggerFactory{Writer: lw, DefaultLogLevel: logging.LogLevelDebug, ScopeLevels: map[string]logging.LogLevel{}}
}

// quietLogger logs only warnings and errors, to stderr: for tests that
// open many sessions.
func quietLogger() *logging.DefaultLoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelWarn
	return f
}
