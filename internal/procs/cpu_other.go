//go:build !unix

package procs

import (
	"errors"
	"fmt"
	"time"
)

// ProcessCPU is not implemented here (an error wrapping
// errors.ErrUnsupported): GOMAXPROCS stays as the runtime set it.
func ProcessCPU() (time.Duration, error) {
	return 0, fmt.Errorf("reading the process's CPU time: %w", errors.ErrUnsupported)
}
