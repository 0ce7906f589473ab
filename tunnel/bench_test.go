package tunnel

import (
	"io"
	"net"
	"testing"
	"time"

	"wsbridge/frames"
)

// benchMsg is the size of each message (up) or target write (down).
const benchMsg = 64 << 10

// countTarget counts what it receives until EOF and reports it.
func countTarget(got chan<- int64) func(*net.TCPConn) {
	return func(c *net.TCPConn) {
		n, _ := io.Copy(io.Discard, c)
		got <- n
	}
}

// BenchmarkBridgeUp: 64 KiB binary messages from a client through the
// bridge to a TCP sink.
func BenchmarkBridgeUp(b *testing.B) { benchBridgeUp(b, Config{}) }

// benchBridgeUp runs BenchmarkBridgeUp on a bridge configured by cfg.
func benchBridgeUp(b *testing.B, cfg Config) {
	got := make(chan int64, 1)
	tgt := startTarget(b, countTarget(got))
	cfg.Target, cfg.LoggerFactory = tgt.addr, quietLogger()
	br := startBridge(b, cfg, nil)
	c := dialWS(b, br.addr)
	c.conn.SetDeadline(time.Time{})
	benchUp(b, c, got)
}

// benchUp times b.N 64 KiB messages from c until the sink behind the
// bridge has counted them all (got).
func benchUp(b *testing.B, c *wsClient, got <-chan int64) {
	payload := randBytes(1, benchMsg)
	b.SetBytes(benchMsg)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := c.wr.WriteMessage(frames.OpBinary, payload); err != nil {
			b.Fatal(err)
		}
	}
	c.wr.WriteClose(frames.CloseNormal, "")
	n := recv(b, got, "the sink's EOF") // everything has arrived
	b.StopTimer()
	if want := int64(b.N) * benchMsg; n != want {
		b.Fatalf("sink got %d B, want %d", n, want)
	}
}

// BenchmarkBridgeDown: 64 KiB writes from a TCP source through the bridge
// to a client.
func BenchmarkBridgeDown(b *testing.B) { benchBridgeDown(b, Config{}) }

// benchBridgeDown runs BenchmarkBridgeDown on a bridge configured by cfg.
func benchBridgeDown(b *testing.B, cfg Config) {
	tgt := startTarget(b, blockSource(b.N))
	cfg.Target, cfg.LoggerFactory = tgt.addr, quietLogger()
	br := startBridge(b, cfg, nil)
	b.SetBytes(benchMsg)
	b.ReportAllocs()
	b.ResetTimer()
	c := dialWS(b, br.addr)
	c.conn.SetDeadline(time.Time{})
	benchDown(b, c)
}

// blockSource writes n 64 KiB blocks, then FINs.
func blockSource(n int) func(*net.TCPConn) {
	payload := randBytes(2, benchMsg)
	return func(c *net.TCPConn) {
		for range n {
			if _, err := c.Write(payload); err != nil {
				return
			}
		}
		c.CloseWrite()
		io.Copy(io.Discard, c)
	}
}

// benchDown reads from c until the bridge's Close, stops the timer and
// checks that b.N 64 KiB blocks arrived.
func benchDown(b *testing.B, c *wsClient) {
	h := &countingHash{Hash: nopHash{}}
	code, _, err := c.readUntilClose(h)
	b.StopTimer()
	if err != nil || code != frames.CloseNormal {
		b.Fatalf("got Close %d (%v), want 1000", code, err)
	}
	if want := int64(b.N) * benchMsg; h.n != want {
		b.Fatalf("client got %d B, want %d", h.n, want)
	}
	c.wr.WriteClose(frames.CloseNormal, "")
}

// BenchmarkDirectTCP is the baseline: the same writes straight to the sink.
func BenchmarkDirectTCP(b *testing.B) {
	got := make(chan int64, 1)
	tgt := startTarget(b, countTarget(got))
	conn, err := net.Dial("tcp", tgt.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	payload := randBytes(1, benchMsg)
	b.SetBytes(benchMsg)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := conn.Write(payload); err != nil {
			b.Fatal(err)
		}
	}
	conn.(*net.TCPConn).CloseWrite()
	n := recv(b, got, "the sink's EOF")
	b.StopTimer()
	if want := int64(b.N) * benchMsg; n != want {
		b.Fatalf("sink got %d B, want %d", n, want)
	}
}

// nopHash counts without hashing (countingHash does the counting).
type nopHash struct{}

func (nopHash) Write(p []byte) (int, error) { return len(p), nil }
func (nopHash) Sum(b []byte) []byte         { return b }
func (nopHash) Reset()                      {}
func (nopHash) Size() int                   { return 0 }
func (nopHash) BlockSize() int              { return 1 }
