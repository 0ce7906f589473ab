package echo_test

import (
	"testing"

	"wsbridge/internal/leakcheck"
)

// TestMain fails the run if goroutines started by this package's code or
// tests outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m, "wsbridge/echo") }
