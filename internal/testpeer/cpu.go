package testpeer

import (
	"testing"
	"time"

	"wsbridge/internal/procs"
)

// ProcessCPU is the CPU time the test process has used so far, user and
// system, for benchmarks that report it per op; it fails tb where the
// system cannot tell.
func ProcessCPU(tb testing.TB) time.Duration {
	tb.Helper()
	d, err := procs.ProcessCPU()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
