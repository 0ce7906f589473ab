package tunnel

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/pion/logging"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
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

// BenchmarkSession: one whole session per op, as a bridge that clients
// connect to often sees it: TCP connect, upgrade, dial, a 64-byte message
// echoed by the target, and the closing handshake (the client's Close, the
// FIN to the target and its FIN back, the bridge's Close, TCP close). The
// bridge logs at info, as it runs by default. allocs/op and cpu-ns/op
// count the client and the echoing target's side too. Eight clients
// connect at once, as wsbench's rate scenario does, so that the CPUs,
// not the wakeups of one session at a time, bound the rate.
//
// "accept" is the binary's way: Server.Listener accepts on the event loop
// and the session stays there; "nethttp" has net/http read the request
// and hands the session to the loop; "goroutines" runs it on the pumps.
func BenchmarkSession(b *testing.B) {
	for _, m := range []struct {
		name             string
		disable, netHTTP bool
	}{{"accept", false, false}, {"nethttp", false, true}, {"goroutines", true, false}} {
		b.Run(m.name, func(b *testing.B) {
			tgt := startTarget(b, echoTarget)
			lf := logging.NewDefaultLoggerFactory()
			lf.DefaultLogLevel, lf.Writer = logging.LogLevelInfo, io.Discard
			br := serveBridge(b, Config{Target: tgt.addr, LoggerFactory: lf, DisableEventLoop: m.disable}, nil, !m.netHTTP)
			msg := randBytes(4, 64)
			b.ReportAllocs()
			b.SetParallelism(4) // 8 clients on the 2-core machine
			cpu0 := testpeer.ProcessCPU(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var got bytes.Buffer
				for pb.Next() {
					if err := oneSession(br.addr, msg, &got); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(testpeer.ProcessCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// oneSession runs a whole session through the bridge at addr.
func oneSession(addr string, msg []byte, got *bytes.Buffer) error {
	c, resp, err := tryDialWS(addr)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("handshake: %v %v", resp, err)
	}
	defer c.conn.Close()
	if err := c.wr.WriteMessage(frames.OpBinary, msg); err != nil {
		return err
	}
	got.Reset()
	if err := c.readN(got, int64(len(msg))); err != nil || !bytes.Equal(got.Bytes(), msg) {
		return fmt.Errorf("echo: got %x (%v), want %x", got.Bytes(), err, msg)
	}
	if err := c.wr.WriteClose(frames.CloseNormal, ""); err != nil {
		return err
	}
	if code, _, err := c.readUntilClose(io.Discard); err != nil || code != frames.CloseNormal {
		return fmt.Errorf("got Close %d (%v), want 1000", code, err)
	}
	return nil
}
