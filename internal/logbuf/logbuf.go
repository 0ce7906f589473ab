// Package logbuf takes the log's writes off the goroutines that log.
//
// A bridge logs a line when a session opens and one when it ends. Written
// at once, each line is an ordinary system call on the event loop, and
// the first such call after the process was idle wakes the Go runtime's
// sysmon thread, which then naps 20 µs at a time until it finds the
// process idle again. Under a stream of short sessions that cycle ran
// about once per session and cost a fifth of the bridge's CPU per
// connection. A Writer keeps the lines for a few milliseconds and writes
// them from its own goroutine, so sysmon is woken about once per batch.
// To a byte stream it writes the lines of a batch together, a few
// kilobytes per system call, rather than one call per line.
package logbuf

import (
	"io"
	"sync"
	"time"
)

// Writer holds what is written to it for up to a delay and then writes it
// to the underlying writer from its own goroutine, in order: one Write per
// Write it was given (a syslog writer sends each as one message), or
// several of them joined in one Write (for a file or a pipe). Once
// the bytes held reach a limit, the Write that reached it writes everything
// itself, so a writer that does not keep up slows the loggers down as it
// would unbuffered, with bounded memory. It is safe for concurrent use.
//
// Lines held when the process crashes are lost; Close writes what is
// held, so a process that ends through its main function loses nothing.
type Writer struct {
	w     io.Writer
	delay time.Duration
	limit int
	join  int // at most this many bytes of several Writes in one; 0: none

	wmu sync.Mutex // serialises writing to w, and taking a batch to write

	mu     sync.Mutex
	buf    []byte // bytes held, guarded by mu
	ends   []int  // where each Write's bytes end in buf, guarded by mu
	closed bool   // guarded by mu: Write writes through
	spare  []byte // buf's storage between batches, guarded by wmu
	spareE []int  // ends' storage between batches, guarded by wmu

	kick      chan struct{} // the first Write of a batch wakes run
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// PipeBuf is the largest write POSIX promises to put into a pipe whole
// (PIPE_BUF), so that it does not interleave with other processes'
// writes to the same pipe: the join to give New for a stream that may be
// a shared pipe, such as stderr.
const PipeBuf = 4096

// New starts a Writer on w that holds writes for at most delay, and at
// most limit bytes of them. With join 0 each Write it was given is written
// with one Write of w. With join > 0 consecutive ones are written together
// in Writes of at most join bytes (more only for one that is larger on its
// own), each ending where one it was given ended, so log lines stay whole.
// Close must be called to end its goroutine.
func New(w io.Writer, delay time.Duration, limit, join int) *Writer {
	b := &Writer{
		w:     w,
		delay: delay,
		limit: limit,
		join:  join,
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	b.wg.Go(b.run) // ends with Close, which waits for it
	return b
}

// Write holds a copy of p to be written; it never fails. After Close it
// writes p through at once.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.wmu.Lock()
		defer b.wmu.Unlock()
		return b.w.Write(p)
	}
	first := len(b.ends) == 0
	b.buf = append(b.buf, p...)
	b.ends = append(b.ends, len(b.buf))
	full := len(b.buf) >= b.limit
	b.mu.Unlock()
	switch {
	case full:
		b.Flush()
	case first:
		select {
		case b.kick <- struct{}{}:
		default: // run is woken already
		}
	}
	return len(p), nil
}

// Flush writes what is held now.
func (b *Writer) Flush() {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.flushLocked(false)
}

// flushLocked takes the batch held (and with close, makes later writes
// go through) and writes it. wmu is held, so batches go out in order.
func (b *Writer) flushLocked(close bool) {
	b.mu.Lock()
	buf, ends := b.buf, b.ends
	b.buf, b.ends = b.spare[:0], b.spareE[:0]
	b.closed = b.closed || close
	b.mu.Unlock()
	start, last := 0, 0 // buf[start:last] is waiting to be written
	for _, end := range ends {
		if last > start && end-start > b.join {
			b.w.Write(buf[start:last]) // as a logger would: nobody to tell
			start = last
		}
		last = end
	}
	if last > start {
		b.w.Write(buf[start:last])
	}
	b.spare, b.spareE = buf[:0], ends[:0]
}

// Close writes what is held, ends the Writer's goroutine and makes later
// writes go straight through. It returns nil.
func (b *Writer) Close() error {
	b.closeOnce.Do(func() {
		close(b.done)
		b.wg.Wait()
		b.wmu.Lock()
		defer b.wmu.Unlock()
		b.flushLocked(true)
	})
	return nil
}

// run writes each batch delay after its first Write, until Close.
func (b *Writer) run() {
	t := time.NewTimer(b.delay)
	t.Stop()
	for {
		select {
		case <-b.kick:
		case <-b.done:
			return
		}
		t.Reset(b.delay)
		select {
		case <-t.C:
		case <-b.done:
			t.Stop()
			return
		}
		b.Flush()
	}
}
