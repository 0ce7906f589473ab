package tunnel

import (
	"crypto/sha256"
	"hash"
	"io"
	mrand "math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wsbridge/frames"
)

// Backpressure: 256 MiB (64 MiB under the race detector) against a peer
// that stops reading. The writer must block once the kernel buffers are
// full, the bridge must hold no more than its fixed buffers meanwhile, and
// everything must arrive intact once the peer reads again.
const (
	bpChunk    = 64 << 10
	bpSockBuf  = 64 << 10 // socket buffers of the test's ends, kept small
	bpMaxHeld  = 32 << 20 // what may be written before the writer blocks
	bpMaxHeap  = 32 << 20 // the bridge's heap growth while blocked
	bpQuiet    = 300 * time.Millisecond
	bpDeadline = 90 * time.Second
)

// genStream produces bpTotal pseudo-random bytes in bpChunk pieces, hashing
// them, without holding the whole stream.
type genStream struct {
	src  *mrand.ChaCha8
	h    hash.Hash
	buf  []byte
	sent int64
}

func newGenStream(seed byte) *genStream {
	return &genStream{src: mrand.NewChaCha8([32]byte{seed}), h: sha256.New(), buf: make([]byte, bpChunk)}
}

// next returns the next chunk, or nil at the end.
func (g *genStream) next() []byte {
	if g.sent >= bpTotal {
		return nil
	}
	g.src.Read(g.buf)
	g.h.Write(g.buf)
	return g.buf
}

// waitStall waits until progress has not moved for bpQuiet and returns it.
// It is a bounded poll of a counter: the writer being blocked is exactly a
// counter that stops moving.
func waitStall(t *testing.T, progress *atomic.Int64) int64 {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	last, since := progress.Load(), time.Now()
	for {
		time.Sleep(10 * time.Millisecond) // polling interval
		cur := progress.Load()
		switch {
		case cur != last:
			last, since = cur, time.Now()
		case cur > 0 && time.Since(since) >= bpQuiet:
			return cur
		case time.Now().After(deadline):
			t.Fatalf("writer never blocked: %d B written", cur)
		}
	}
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// checkBlocked checks that the writer blocked early and that the heap did
// not grow with what was written.
func checkBlocked(t *testing.T, progress *atomic.Int64, heapBefore uint64) {
	t.Helper()
	held := waitStall(t, progress)
	if held >= bpMaxHeld {
		t.Fatalf("writer blocked after %d B, want it blocked before %d B", held, bpMaxHeld)
	}
	if after := heapInuse(); after > heapBefore+bpMaxHeap {
		t.Fatalf("heap grew by %d B while the writer was blocked, want under %d B", after-heapBefore, bpMaxHeap)
	} else {
		t.Logf("blocked after %d B; heap %d -> %d B", held, heapBefore, after)
	}
}

// TestBackpressureUp: the target stops reading while the client sends.
func TestBackpressureUp(t *testing.T) {
	resume := make(chan struct{})
	res := make(chan sinkResult, 1)
	tgt := startTarget(t, func(c *net.TCPConn) {
		c.SetReadBuffer(bpSockBuf)
		<-resume
		res <- hashUntilEOF(c)
	})
	release := sync.OnceFunc(func() { close(resume) })
	t.Cleanup(release) // runs before the target's cleanup, which waits for the handler
	b := startBridge(t, Config{Target: tgt.addr}, nil)
	c := dialWS(t, b.addr)
	c.conn.SetDeadline(time.Now().Add(bpDeadline))
	c.conn.(*net.TCPConn).SetWriteBuffer(bpSockBuf)
	heapBefore := heapInuse()

	var progress atomic.Int64
	sent := make(chan [32]byte, 1)
	werr := make(chan error, 1)
	go func() { // the client's writer: one 256 MiB message, then Close
		g := newGenStream(1)
		for op := frames.OpBinary; ; op = frames.OpContinuation {
			chunk := g.next()
			if chunk == nil {
				break
			}
			g.sent += int64(len(chunk))
			if err := c.wr.WriteFragment(op, chunk, g.sent == bpTotal); err != nil {
				werr <- err
				return
			}
			progress.Add(int64(len(chunk)))
		}
		var s [32]byte
		g.h.Sum(s[:0])
		sent <- s
		werr <- c.wr.WriteClose(frames.CloseNormal, "")
	}()
	checkBlocked(t, &progress, heapBefore)

	release()
	start := time.Now()
	if err := recvWithin(t, werr, bpDeadline, "the client's writer"); err != nil {
		t.Fatalf("client write: %v", err)
	}
	want := <-sent
	r := recv(t, res, "the target's EOF")
	if r.err != nil || r.n != bpTotal || r.sum != want {
		t.Fatalf("target got %d B (err %v, sha256 match %v), want %d B", r.n, r.err, r.sum == want, bpTotal)
	}
	t.Logf("%d MiB up in %v after the target resumed", bpTotal>>20, time.Since(start))
	c.expectClose(t, frames.CloseNormal, "")
}

// TestBackpressureDown: the client stops reading while the target sends.
func TestBackpressureDown(t *testing.T) {
	var progress atomic.Int64
	sent := make(chan [32]byte, 1)
	tgt := startTarget(t, func(c *net.TCPConn) {
		c.SetWriteBuffer(bpSockBuf)
		g := newGenStream(2)
		for chunk := g.next(); chunk != nil; chunk = g.next() {
			if _, err := c.Write(chunk); err != nil {
				return
			}
			g.sent += int64(len(chunk))
			progress.Add(int64(len(chunk)))
		}
		var s [32]byte
		g.h.Sum(s[:0])
		sent <- s
		c.CloseWrite()
		io.Copy(io.Discard, c)
	})
	b := startBridge(t, Config{Target: tgt.addr}, nil)
	c := dialWS(t, b.addr)
	c.conn.SetDeadline(time.Now().Add(bpDeadline))
	c.conn.(*net.TCPConn).SetReadBuffer(bpSockBuf)
	heapBefore := heapInuse()
	checkBlocked(t, &progress, heapBefore)

	start := time.Now()
	h := &countingHash{Hash: sha256.New()}
	code, reason, err := c.readUntilClose(h)
	t.Logf("%d MiB down in %v after the client resumed", bpTotal>>20, time.Since(start))
	if err != nil {
		t.Fatalf("client read: %v", err)
	}
	want := recv(t, sent, "the target's writer")
	if h.n != bpTotal || [32]byte(h.Sum(nil)) != want {
		t.Fatalf("client got %d B (sha256 match %v), want %d B", h.n, [32]byte(h.Sum(nil)) == want, bpTotal)
	}
	if code != frames.CloseNormal || reason != "Target closed" {
		t.Fatalf("got Close %d %q, want 1000 \"Target closed\"", code, reason)
	}
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectEOF(t)
}
