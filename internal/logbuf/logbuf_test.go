package logbuf

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder keeps each Write it gets as one entry, and tells got about
// each.
type recorder struct {
	mu     sync.Mutex
	writes []string
	got    chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1<<16)} }

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.writes = append(r.writes, string(p))
	r.mu.Unlock()
	r.got <- struct{}{}
	return len(p), nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.writes)
}

const never = time.Hour // a delay no test waits out

// TestHeldUntilDelay: a line is not written when it is logged, but by
// the Writer's goroutine once the delay has passed, and lines logged
// meanwhile go with it.
func TestHeldUntilDelay(t *testing.T) {
	r := newRecorder()
	b := New(r, 20*time.Millisecond, 1<<20, 0)
	defer b.Close()
	start := time.Now()
	b.Write([]byte("one\n"))
	b.Write([]byte("two\n"))
	if got := r.all(); len(got) != 0 && time.Since(start) < 20*time.Millisecond {
		t.Fatalf("written at once: %q", got)
	}
	select {
	case <-r.got:
	case <-time.After(10 * time.Second):
		t.Fatal("not written within 10 s")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("written after %v, before the delay of 20ms", d)
	}
	select {
	case <-r.got:
	case <-time.After(10 * time.Second):
		t.Fatalf("second line not written within 10 s: %q", r.all())
	}
	if got, want := r.all(), []string{"one\n", "two\n"}; !slices.Equal(got, want) {
		t.Errorf("writes %q, want %q", got, want)
	}

	// The next line starts a new batch with its own delay.
	b.Write([]byte("three\n"))
	select {
	case <-r.got:
	case <-time.After(10 * time.Second):
		t.Fatal("second batch not written within 10 s")
	}
	if got := r.all(); len(got) != 3 || got[2] != "three\n" {
		t.Errorf("writes %q, want three lines", got)
	}
}

// TestLimit: the Write that makes the bytes held reach the limit writes
// everything held itself, before it returns.
func TestLimit(t *testing.T) {
	r := newRecorder()
	b := New(r, never, 10, 0)
	defer b.Close()
	b.Write([]byte("12345"))
	if got := r.all(); len(got) != 0 {
		t.Fatalf("written below the limit: %q", got)
	}
	b.Write([]byte("67890"))
	if got, want := r.all(), []string{"12345", "67890"}; !slices.Equal(got, want) {
		t.Errorf("at the limit: writes %q, want %q", got, want)
	}
}

// TestCloseWrites: Close writes what is held, and later writes go
// straight through; a second Close does nothing.
func TestCloseWrites(t *testing.T) {
	r := newRecorder()
	b := New(r, never, 1<<20, 0)
	b.Write([]byte("held\n"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := r.all(), []string{"held\n"}; !slices.Equal(got, want) {
		t.Fatalf("after Close: writes %q, want %q", got, want)
	}
	b.Write([]byte("after\n"))
	if got, want := r.all(), []string{"held\n", "after\n"}; !slices.Equal(got, want) {
		t.Errorf("a Write after Close: writes %q, want %q", got, want)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	b.Flush()
	if got := len(r.all()); got != 2 {
		t.Errorf("Flush after Close wrote again: %d writes", got)
	}
}

// TestConcurrentOrder: lines from many goroutines all arrive once, whole,
// and in each goroutine's order, across batches the delay, the limit and
// Close each end: without a join each as the one Write it was logged
// with, with one in writes no larger than the join.
func TestConcurrentOrder(t *testing.T) {
	for _, join := range []int{0, 100} {
		t.Run(fmt.Sprintf("join=%d", join), func(t *testing.T) { testConcurrentOrder(t, join) })
	}
}

func testConcurrentOrder(t *testing.T, join int) {
	const (
		writers = 8
		lines   = 2000
	)
	r := newRecorder()
	b := New(r, time.Millisecond, 4<<10, join)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(b, "writer %d line %d\n", w, i)
			}
		})
	}
	wg.Wait()
	b.Close()
	var got []string
	for _, s := range r.all() {
		if join > 0 && len(s) > join {
			t.Fatalf("a write of %d bytes, more than the join of %d", len(s), join)
		}
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("write %q does not end a line", s)
		}
		got = append(got, strings.SplitAfter(s, "\n")...)
		got = got[:len(got)-1] // the empty string after the last line
	}
	switch n := len(r.all()); {
	case join == 0 && n != len(got):
		t.Errorf("%d writes for %d lines, want one each", n, len(got))
	case join > 0 && n >= len(got):
		t.Errorf("%d writes for %d lines: none joined", n, len(got))
	}
	if len(got) != writers*lines {
		t.Fatalf("%d lines, want %d", len(got), writers*lines)
	}
	next := make([]int, writers)
	for _, s := range got {
		var w, i int
		if _, err := fmt.Sscanf(s, "writer %d line %d\n", &w, &i); err != nil || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
			t.Fatalf("write %q is not one line as logged (%v)", s, err)
		}
		if i != next[w] {
			t.Fatalf("writer %d: line %d came where line %d was due", w, i, next[w])
		}
		next[w]++
	}
}

// TestJoin: with a join, the Writes of a batch go out together, each
// Write of w at most join bytes and ending where a Write given ended, and
// one larger than join on its own goes out alone; nothing is lost or
// reordered.
func TestJoin(t *testing.T) {
	r := newRecorder()
	b := New(r, never, 1<<20, 10)
	in := []string{"aaa\n", "bbb\n", "cc\n", "d\n", "eeeeeeeeeeeeee\n", "f\n", "gggggggggg\n", "h\n"}
	for _, s := range in {
		b.Write([]byte(s))
	}
	b.Flush()
	want := []string{"aaa\nbbb\n", "cc\nd\n", "eeeeeeeeeeeeee\n", "f\n", "gggggggggg\n", "h\n"}
	if got := r.all(); !slices.Equal(got, want) {
		t.Errorf("writes %q, want %q", got, want)
	}
	b.Write([]byte("i\n"))
	b.Write([]byte("j\n"))
	b.Close()
	if got := r.all()[len(want):]; !slices.Equal(got, []string{"i\nj\n"}) {
		t.Errorf("batch written by Close: writes %q, want one joined", got)
	}
}

// BenchmarkFlush: a batch of 100 session lines written to a file, one
// Write each or joined (as the bridge logs to stderr or --log-file), per
// line.
func BenchmarkFlush(b *testing.B) {
	line := []byte("tunnel INFO: 2026/11/27 22:26:26 session 127.0.0.1:45698 -> 127.0.0.1:42485 opened\n")
	const lines = 100
	for _, join := range []int{0, PipeBuf} {
		b.Run(fmt.Sprintf("join=%d", join), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			w := &countWriter{w: f}
			lb := New(w, never, 1<<20, join)
			defer lb.Close()
			b.SetBytes(int64(len(line) * lines))
			b.ReportAllocs()
			for b.Loop() {
				for range lines {
					lb.Write(line)
				}
				lb.Flush()
			}
			b.ReportMetric(float64(w.n)/float64(b.N*lines), "writes/line")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
		})
	}
}

// countWriter counts the Writes passed on to w.
type countWriter struct {
	w io.Writer
	n int
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n++
	return c.w.Write(p)
}
