package logbuf

import (
	"fmt"
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
	b := New(r, 20*time.Millisecond, 1<<20)
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
	b := New(r, never, 10)
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
	b := New(r, never, 1<<20)
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

// TestConcurrentOrder: lines from many goroutines all arrive once, each
// as the one Write it was logged with, and in each goroutine's order,
// across batches the delay, the limit and Close each end.
func TestConcurrentOrder(t *testing.T) {
	const (
		writers = 8
		lines   = 2000
	)
	r := newRecorder()
	b := New(r, time.Millisecond, 4<<10)
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
	got := r.all()
	if len(got) != writers*lines {
		t.Fatalf("%d writes, want %d", len(got), writers*lines)
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
