package tunnel

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"wsbridge/frames"
)

// The event loop against the goroutine pumps, on the same bridge: each
// benchmark runs both ways (Config.DisableEventLoop).
var benchModes = []struct {
	name    string
	disable bool
}{{"loop", false}, {"goroutines", true}}

// BenchmarkBridgeRoundTrip: a 64-byte message through the bridge to an
// echoing target and back, one at a time (latency and CPU per message).
func BenchmarkBridgeRoundTrip(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) {
			tgt := startTarget(b, func(c *net.TCPConn) { io.Copy(c, c) })
			br := startBridge(b, Config{Target: tgt.addr, LoggerFactory: quietLogger(), DisableEventLoop: m.disable}, nil)
			c := dialWS(b, br.addr)
			c.conn.SetDeadline(time.Time{})
			msg := randBytes(3, 64)
			var got bytes.Buffer
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := c.wr.WriteMessage(frames.OpBinary, msg); err != nil {
					b.Fatal(err)
				}
				got.Reset()
				if err := c.readN(&got, int64(len(msg))); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if !bytes.Equal(got.Bytes(), msg) {
				b.Fatalf("echo: got %x, want %x", got.Bytes(), msg)
			}
		})
	}
}

// BenchmarkBridgeUpModes and BenchmarkBridgeDownModes: BenchmarkBridgeUp
// and BenchmarkBridgeDown on the loop and on goroutines.
func BenchmarkBridgeUpModes(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) { benchBridgeUp(b, Config{DisableEventLoop: m.disable}) })
	}
}

func BenchmarkBridgeDownModes(b *testing.B) {
	for _, m := range benchModes {
		b.Run(m.name, func(b *testing.B) { benchBridgeDown(b, Config{DisableEventLoop: m.disable}) })
	}
}
