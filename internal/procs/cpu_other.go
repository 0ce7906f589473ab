//go:build !unix

package procs

import (
	"errors"
	"fmt"
	"time"
)

// processCPU is not implemented here: GOMAXPROCS stays as the runtime set
// it.
func processCPU() (time.Duration, error) {
	return 0, fmt.Errorf("reading the process's CPU time: %w", errors.ErrUnsupported)
}
