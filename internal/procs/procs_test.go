package procs

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		cur, max int
		cpus     float64
		want     int
	}{
		{1, 8, 0.0, 1},  // idle: stays at the least
		{1, 8, 0.79, 1}, // most of one P, not more than upAt
		{1, 8, 0.81, 2}, // short of Ps: twice as many
		{2, 8, 1.7, 4},
		{4, 6, 3.5, 6}, // capped at max
		{6, 6, 6.0, 6},
		{2, 8, 0.81, 2}, // the hysteresis: between downAt and upAt stays
		{2, 8, 0.49, 1}, // fits in one P at downAt
		{4, 8, 1.4, 3},  // one P less at a time
		{4, 8, 1.5, 4},  // 1.5 of 3 is downAt: not less
		{1, 1, 5.0, 1},  // max 1
	} {
		if got := Next(tc.cur, tc.max, tc.cpus); got != tc.want {
			t.Errorf("Next(%d, %d, %.2f) = %d, want %d", tc.cur, tc.max, tc.cpus, got, tc.want)
		}
	}
}

// fakeProcess plays a process whose CPU use per interval is given, and
// records what GOMAXPROCS is set to.
type fakeProcess struct {
	used []float64 // CPUs used in each interval after the first sample, then none
	cpu  time.Duration
	n    int
	sets []int
}

func (f *fakeProcess) read() (time.Duration, error) {
	if f.n > 0 && f.n <= len(f.used) {
		f.cpu += time.Duration(f.used[f.n-1] * float64(time.Second))
	}
	f.n++
	return f.cpu, nil
}

func (f *fakeProcess) set(n int) int {
	f.sets = append(f.sets, n)
	return 0
}

// TestScalerRun: the Scaler starts at one P, doubles at once under load,
// gives one back only after downAfter light intervals in a row, and puts
// GOMAXPROCS back to Max when it stops.
func TestScalerRun(t *testing.T) {
	f := &fakeProcess{used: []float64{
		0.9,           // 1 → 2
		1.7,           // 2 → 4
		3.9,           // 4: at Max
		1.0, 1.0, 1.0, // under 0.5 × 3, three times: not yet
		2.0,                // a heavy interval resets the count
		1.0, 1.0, 1.0, 1.0, // four in a row: 4 → 3
		0.1, 0.1, 0.1, 0.1, // 3 → 2
	}}
	tick := make(chan time.Time)
	s := &Scaler{Max: 4, CPU: f.read, Set: f.set, Tick: tick}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	at := time.Unix(1e9, 0)
	for range len(f.used) + 1 { // the first tick takes the first sample
		tick <- at
		at = at.Add(time.Second)
	}
	tick <- at // the last interval has been handled once Run takes another tick
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []int{1, 2, 4, 3, 2, 4}
	if !slices.Equal(f.sets, want) {
		t.Errorf("GOMAXPROCS set to %v, want %v", f.sets, want)
	}
}

// TestScalerUnneeded: with at most one P to give, the Scaler leaves
// GOMAXPROCS alone.
func TestScalerUnneeded(t *testing.T) {
	f := &fakeProcess{}
	s := &Scaler{Max: 1, CPU: f.read, Set: f.set, Tick: make(chan time.Time)}
	if err := s.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(f.sets) > 0 {
		t.Errorf("GOMAXPROCS set to %v, want it left alone", f.sets)
	}
}

// TestScalerCPUError: a failing CPU reading ends Run with the error, and
// GOMAXPROCS goes back to Max.
func TestScalerCPUError(t *testing.T) {
	errRead := errors.New("no rusage")
	f := &fakeProcess{}
	tick := make(chan time.Time, 1)
	tick <- time.Now()
	s := &Scaler{Max: 3, Set: f.set, Tick: tick, CPU: func() (time.Duration, error) { return 0, errRead }}
	if err := s.Run(t.Context()); !errors.Is(err, errRead) {
		t.Fatalf("Run: %v, want %v", err, errRead)
	}
	if want := []int{1, 3}; !slices.Equal(f.sets, want) {
		t.Errorf("GOMAXPROCS set to %v, want %v", f.sets, want)
	}
}

// TestProcessCPU: the process's CPU time grows while it computes.
func TestProcessCPU(t *testing.T) {
	start, err := processCPU()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		for i := range 1 << 16 {
			x += i
		}
		now, err := processCPU()
		if err != nil {
			t.Fatal(err)
		}
		if now > start {
			return
		}
	}
	t.Fatalf("no CPU time counted in 10 s of computing (%d)", x)
}

// TestScalerReal runs the Scaler on the runtime itself, sampling every
// 20 ms: it starts at one P, takes a second while two goroutines compute,
// gives it back once they stop, and leaves GOMAXPROCS at Max at the end.
func TestScalerReal(t *testing.T) {
	max := runtime.GOMAXPROCS(0)
	if max < 2 {
		t.Skip("GOMAXPROCS is 1: nothing to fit")
	}
	t.Cleanup(func() { runtime.GOMAXPROCS(max) })
	sets := make(chan int, 16)
	s := &Scaler{Max: max, Interval: 20 * time.Millisecond, Set: func(n int) int {
		prev := runtime.GOMAXPROCS(n)
		sets <- n
		return prev
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// expect waits for GOMAXPROCS to be set to want; on a host with more
	// than two CPUs it may pass through others on the way (more Ps while
	// the test computes, one P less at a time after it).
	expect := func(want int, what string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case n := <-sets:
				if n == want {
					return
				}
			case <-timeout:
				t.Fatalf("%s: GOMAXPROCS not set to %d within 10 s", what, want)
			}
		}
	}
	expect(1, "at the start")
	burn, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for x := 0; burn.Err() == nil; x++ {
			}
		})
	}
	expect(2, "while two goroutines compute")
	stop()
	wg.Wait()
	expect(1, "once they stopped")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	expect(max, "after Run")
}
