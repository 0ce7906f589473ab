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

// fakeProcess plays a process whose CPU time the test hands to each
// reading, and records what GOMAXPROCS is set to.
type fakeProcess struct {
	readings chan time.Duration
	sets     chan int
}

func newFakeProcess() *fakeProcess {
	return &fakeProcess{readings: make(chan time.Duration), sets: make(chan int, 64)}
}

func (f *fakeProcess) read() (time.Duration, error) { return <-f.readings, nil }

func (f *fakeProcess) set(n int) int {
	f.sets <- n
	return 0
}

// taken returns what GOMAXPROCS was set to since the last call.
func (f *fakeProcess) taken() []int {
	var got []int
	for {
		select {
		case n := <-f.sets:
			got = append(got, n)
		default:
			return got
		}
	}
}

// TestScalerRun: the Scaler starts at one P, doubles at once under load,
// gives one back only after downAfter light intervals in a row, and puts
// GOMAXPROCS back to Max when it stops. Each change must come at the end
// of the interval that calls for it.
func TestScalerRun(t *testing.T) {
	steps := []struct {
		cpus float64 // used in the interval
		set  int     // what GOMAXPROCS is set to at its end; 0: nothing
	}{
		{0.79, 0}, // 1: not more than upAt
		{0.9, 2},
		{1.7, 4},
		{3.9, 0},                     // at Max
		{1.0, 0}, {1.0, 0}, {1.0, 0}, // under 0.5 × 3, three times: not yet
		{2.0, 0},                               // a heavy interval resets the count
		{1.0, 0}, {1.0, 0}, {1.0, 0}, {1.0, 3}, // four in a row
		{0.1, 0}, {0.1, 0}, {0.1, 0}, {0.1, 2},
	}
	setAt := func(i int) []int { // what is set at the end of interval i
		if steps[i].set == 0 {
			return nil
		}
		return []int{steps[i].set}
	}
	f := newFakeProcess()
	tick := make(chan time.Time)
	s := &Scaler{Max: 4, CPU: f.read, Set: f.set, Tick: tick}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	// Run reads the CPU time once as it starts, then at each tick. Once
	// it takes a tick it has handled the one before, and it decides
	// nothing for the new one until it gets that tick's reading.
	var cpu time.Duration
	at := time.Unix(1e9, 0)
	f.readings <- cpu // as it starts
	tick <- at        // the first sample
	f.readings <- cpu
	for i, st := range steps {
		at = at.Add(time.Second)
		tick <- at
		want := []int{1} // the start
		if i > 0 {
			want = setAt(i - 1)
		}
		if got := f.taken(); !slices.Equal(got, want) {
			t.Errorf("before the end of interval %d: GOMAXPROCS set to %v, want %v", i, got, want)
		}
		cpu += time.Duration(st.cpus * float64(time.Second))
		f.readings <- cpu
	}
	tick <- at.Add(time.Second)
	if got, want := f.taken(), setAt(len(steps)-1); !slices.Equal(got, want) {
		t.Errorf("after the last interval: GOMAXPROCS set to %v, want %v", got, want)
	}
	f.readings <- cpu
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := f.taken(); !slices.Equal(got, []int{4}) {
		t.Errorf("GOMAXPROCS set to %v when Run returned, want [4]", got)
	}
}

// TestScalerUnneeded: with at most one P to give, the Scaler leaves
// GOMAXPROCS alone.
func TestScalerUnneeded(t *testing.T) {
	f := newFakeProcess()
	s := &Scaler{Max: 1, CPU: f.read, Set: f.set, Tick: make(chan time.Time)}
	if err := s.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := f.taken(); len(got) > 0 {
		t.Errorf("GOMAXPROCS set to %v, want it left alone", got)
	}
}

// TestScalerCPUError: a CPU reading that fails at once ends Run before it
// touches GOMAXPROCS; one that fails later ends Run with GOMAXPROCS put
// back to Max.
func TestScalerCPUError(t *testing.T) {
	errRead := errors.New("no rusage")
	for _, tc := range []struct {
		name  string
		reads int // readings that succeed before the failing one
		want  []int
	}{
		{"at once", 0, nil},
		{"later", 1, []int{1, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProcess()
			n := 0
			read := func() (time.Duration, error) {
				if n++; n > tc.reads {
					return 0, errRead
				}
				return 0, nil
			}
			tick := make(chan time.Time, 1)
			tick <- time.Now()
			s := &Scaler{Max: 3, Set: f.set, Tick: tick, CPU: read}
			if err := s.Run(t.Context()); !errors.Is(err, errRead) {
				t.Fatalf("Run: %v, want %v", err, errRead)
			}
			if got := f.taken(); !slices.Equal(got, tc.want) {
				t.Errorf("GOMAXPROCS set to %v, want %v", got, tc.want)
			}
		})
	}
}

// TestProcessCPU: the process's CPU time grows while it computes.
func TestProcessCPU(t *testing.T) {
	start, err := ProcessCPU()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		for i := range 1 << 16 {
			x += i
		}
		now, err := ProcessCPU()
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
