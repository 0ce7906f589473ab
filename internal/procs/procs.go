// Package procs fits GOMAXPROCS to the CPU the process uses.
//
// Go's scheduler keeps a thread spinning for work whenever a goroutine is
// woken and a P is idle. A bridge that uses less than one CPU wakes its
// event loops tens of thousands of times a second, and on a small host
// shared with its targets each wake-up then also wakes a second thread,
// often on another (virtual) CPU, to find nothing. With one P that cost is
// gone: on the 2-core development VM the CPU per new connection fell to
// about 0.77 of what it was with two, and per fan-out message to 0.78,
// with the same throughput. A Scaler therefore runs the process on as few
// Ps as its load needs: it starts at one, doubles while the process uses
// most of the CPUs it has, and gives one back when the load would fit in
// fewer, up to the GOMAXPROCS the runtime chose at start.
package procs

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/pion/logging"
)

// Thresholds, in CPUs used per P over an interval.
const (
	// upAt: the process used more than this share of its Ps' time, so it
	// may be short of them.
	upAt = 0.8
	// downAt: the load would use at most this share of one P less.
	downAt = 0.5
	// downAfter is how many intervals in a row the load must fit in fewer
	// Ps before one is given back: up at once, down slowly.
	downAfter = 4
)

// Scaler sets GOMAXPROCS between 1 and Max from the process's CPU use,
// sampled every Interval.
type Scaler struct {
	// Max is the most Ps to use; below 2 the Scaler does nothing.
	Max int
	// Interval is how often the CPU use is sampled.
	Interval time.Duration
	// Log, if not nil, gets a line at debug level for each change.
	Log logging.LeveledLogger

	// CPU returns the CPU time the process has used so far; nil reads it
	// with getrusage.
	CPU func() (time.Duration, error)
	// Set sets GOMAXPROCS; nil is runtime.GOMAXPROCS.
	Set func(int) int
	// Tick delivers the sampling times; nil uses a time.Ticker of
	// Interval.
	Tick <-chan time.Time
}

// Run adapts GOMAXPROCS until ctx ends, then puts it back to Max. It
// returns at once if Max is below 2, and with an error that wraps
// errors.ErrUnsupported where the process's CPU time cannot be read. The
// caller runs it on a goroutine of its own and waits for it.
func (s *Scaler) Run(ctx context.Context) error {
	if s.Max < 2 {
		return nil
	}
	cpu, set := s.CPU, s.Set
	if cpu == nil {
		cpu = ProcessCPU
	}
	if _, err := cpu(); err != nil {
		return fmt.Errorf("procs: %w", err)
	}
	if set == nil {
		set = runtime.GOMAXPROCS
	}
	tick := s.Tick
	if tick == nil {
		t := time.NewTicker(s.Interval)
		defer t.Stop()
		tick = t.C
	}
	cur := 1
	set(cur)
	defer set(s.Max)
	var (
		used time.Duration // the CPU time at last
		last time.Time     // the last sample's time; zero: none yet
		low  int           // intervals in a row in which fewer Ps would have done
	)
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick:
			u, err := cpu()
			if err != nil {
				return fmt.Errorf("procs: %w", err)
			}
			prevU, prevT := used, last
			used, last = u, now
			if prevT.IsZero() || !now.After(prevT) {
				continue // the first sample: nothing to compare with
			}
			cpus := float64(u-prevU) / float64(now.Sub(prevT))
			n := Next(cur, s.Max, cpus)
			switch {
			case n > cur:
				low = 0
			case n < cur:
				if low++; low < downAfter {
					continue
				}
				low = 0
			default:
				low = 0
				continue
			}
			if s.Log != nil {
				s.Log.Debugf("GOMAXPROCS %d -> %d (%.2f CPUs used)", cur, n, cpus)
			}
			cur = n
			set(cur)
		}
	}
}

// Next is the number of Ps for a process that used cpus CPUs on average
// over the last interval with cur Ps, at most max: twice cur if it used
// more than upAt of them, one less if the load fits in one less at
// downAt, otherwise cur.
func Next(cur, max int, cpus float64) int {
	switch {
	case cpus > upAt*float64(cur) && cur < max:
		return min(2*cur, max)
	case cur > 1 && cpus < downAt*float64(cur-1):
		return cur - 1
	}
	return cur
}
