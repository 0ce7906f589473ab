package tunnel

import (
	"crypto/sha256"
	"io"
	mrand "math/rand/v2"
	"net"
	"testing"
	"time"

	"wsbridge/internal/testpeer"
)

// tcpTarget is a real TCP service on 127.0.0.1:0 for the bridge to dial
// (see testpeer.TCP).
type tcpTarget struct {
	addr string
}

func startTarget(t testing.TB, handle func(*net.TCPConn)) *tcpTarget {
	t.Helper()
	return &tcpTarget{addr: testpeer.TCP(t, handle)}
}

// echoTarget copies everything back and closes after the bridge's FIN.
var echoTarget = testpeer.Echo

// sinkResult is what a sink target received.
type sinkResult struct {
	n   int64
	sum [32]byte
	err error // nil for a clean EOF
}

// sinkTarget hashes everything it receives until EOF and reports it. Then,
// if reply is set, it writes reply and closes (FIN).
func sinkTarget(res chan<- sinkResult, reply []byte) func(*net.TCPConn) {
	return func(c *net.TCPConn) {
		r := hashUntilEOF(c)
		res <- r
		if reply != nil {
			c.Write(reply)
		}
	}
}

func hashUntilEOF(c net.Conn) sinkResult {
	h := sha256.New()
	n, err := io.Copy(h, c)
	var r sinkResult
	r.n, r.err = n, err
	h.Sum(r.sum[:0])
	return r
}

// sourceTarget writes data in random chunk sizes up to maxChunk, then
// half-closes (FIN) and hashes whatever the bridge still sends until EOF,
// reporting that on res (if not nil).
func sourceTarget(data []byte, seed uint64, maxChunk int, res chan<- sinkResult) func(*net.TCPConn) {
	return func(c *net.TCPConn) {
		rng := mrand.New(mrand.NewPCG(seed, 7))
		writeChunks(c, data, rng, maxChunk)
		c.CloseWrite()
		r := hashUntilEOF(c)
		if res != nil {
			res <- r
		}
	}
}

// writeChunks writes data in random chunk sizes of 1..maxChunk.
func writeChunks(w io.Writer, data []byte, rng *mrand.Rand, maxChunk int) error {
	for len(data) > 0 {
		n := min(len(data), rng.IntN(maxChunk)+1)
		if _, err := w.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// resetTarget resets the connection (RST) once start is closed, after
// reading a first byte if afterByte is set.
func resetTarget(start <-chan struct{}, afterByte bool) func(*net.TCPConn) {
	return func(c *net.TCPConn) {
		<-start
		if afterByte {
			var b [1]byte
			c.Read(b[:])
		}
		c.SetLinger(0)
		c.Close()
	}
}

// endEvent is how a target's connection ended: io.EOF for a FIN, an error
// for a reset, with the bytes read before and when.
type endEvent struct {
	n   int64
	err error
	at  time.Time
}

// readerTarget reads until the connection ends and reports how.
func readerTarget(res chan<- endEvent) func(*net.TCPConn) {
	return func(c *net.TCPConn) {
		n, err := io.Copy(io.Discard, c)
		if err == nil {
			err = io.EOF
		}
		res <- endEvent{n, err, time.Now()}
	}
}

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	mrand.NewChaCha8(s).Read(b)
	return b
}
