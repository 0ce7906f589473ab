package testpeer

import (
	"strings"
	"sync"
	"testing"

	"github.com/pion/logging"
)

// LogBuffer collects log lines and echoes them to t.Log while the test
// runs (not after: a late line from a winding-down goroutine would panic).
type LogBuffer struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
	buf  strings.Builder
}

// Write implements io.Writer.
func (w *LogBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// String returns everything logged so far.
func (w *LogBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// Logger returns a LoggerFactory logging at debug level into a LogBuffer
// that the test can read.
func Logger(t testing.TB) (*logging.DefaultLoggerFactory, *LogBuffer) {
	lb := &LogBuffer{t: t}
	t.Cleanup(func() { lb.mu.Lock(); lb.done = true; lb.mu.Unlock() })
	return &logging.DefaultLoggerFactory{Writer: lb, DefaultLogLevel: logging.LogLevelDebug, ScopeLevels: map[string]logging.LogLevel{}}, lb
}
