package tunnel

import (
	"testing"

	"github.com/pion/logging"

	"wsbridge/internal/testpeer"
)

// testLogWriter is the log a test reads (see testpeer.Logger).
type testLogWriter = testpeer.LogBuffer

func testLogger(t testing.TB) *logging.DefaultLoggerFactory {
	lf, _ := testpeer.Logger(t)
	return lf
}

// quietLogger logs only warnings and errors, to stderr: for tests that
// open many sessions.
func quietLogger() *logging.DefaultLoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelWarn
	return f
}
