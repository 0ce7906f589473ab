package tunnel

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// The TLS benchmarks compare the bridge behind TLS (wss://) with a plain
// TLS-terminating TCP relay (what socat OPENSSL-LISTEN or stunnel do): the
// relay pays only for the crypto, so the ratio shows what the WebSocket
// framing adds on top of it.

// tlsPair returns a server config and a client config trusting it.
func tlsPair(b testing.TB) (srv, cli *tls.Config) {
	ca := testpeer.NewCA(b, "bench CA")
	cert, _, _ := ca.Issue(b, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}
}

// startTLSBridge runs a Server for cfg behind a TLS listener.
func startTLSBridge(b testing.TB, cfg Config, srvConf *tls.Config) string {
	return startTLSBridgeCounting(b, cfg, srvConf, new(atomic.Int64))
}

// startTLSBridgeCounting is startTLSBridge, counting in writes the writes
// of the bridge's TLS connections to their sockets: one per TLS record.
func startTLSBridgeCounting(b testing.TB, cfg Config, srvConf *tls.Config, writes *atomic.Int64) string {
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: s}
	done := make(chan struct{})
	go func() { defer close(done); hs.Serve(tls.NewListener(countingListener{ln, writes}, srvConf)) }()
	b.Cleanup(func() {
		hs.Close()
		s.Shutdown(b.Context())
		<-done
	})
	return ln.Addr().String()
}

// dialTLSWS opens a wss:// session to addr, closed when the test ends,
// without deadlines.
func dialTLSWS(tb testing.TB, addr string, cliConf *tls.Config) *wsClient {
	tb.Helper()
	conn, err := tls.Dial("tcp", addr, cliConf)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	c, _, err := handshakeWS(conn, "/", addr)
	if err != nil {
		tb.Fatal(err)
	}
	conn.SetDeadline(time.Time{})
	return c
}

// countingListener counts the writes to the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// startTLSRelay runs a TLS-terminating TCP relay to target: the reference.
func startTLSRelay(b *testing.B, target string, srvConf *tls.Config) string {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvConf)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { relay(c.(*tls.Conn), target) })
		}
	})
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// relay copies both ways between c and a new connection to target,
// passing half-closes on.
func relay(c *tls.Conn, target string) {
	defer c.Close()
	t, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer t.Close()
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(t, c); t.(*net.TCPConn).CloseWrite() })
	io.Copy(c, t)
	c.CloseWrite()
	wg.Wait()
}

func BenchmarkBridgeUpTLS(b *testing.B) {
	srvConf, cliConf := tlsPair(b)
	got := make(chan int64, 1)
	tgt := startTarget(b, countTarget(got))
	addr := startTLSBridge(b, Config{Target: tgt.addr, LoggerFactory: quietLogger()}, srvConf)
	c := dialTLSWS(b, addr, cliConf)
	benchUp(b, c, got)
}

func BenchmarkTLSRelayUp(b *testing.B) {
	srvConf, cliConf := tlsPair(b)
	got := make(chan int64, 1)
	tgt := startTarget(b, countTarget(got))
	addr := startTLSRelay(b, tgt.addr, srvConf)
	conn, err := tls.Dial("tcp", addr, cliConf)
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
	conn.CloseWrite()
	n := recv(b, got, "the sink's EOF")
	b.StopTimer()
	if want := int64(b.N) * benchMsg; n != want {
		b.Fatalf("sink got %d B, want %d", n, want)
	}
}

// BenchmarkBridgeDownTLS reports, besides MB/s, the bridge's socket writes
// per 64 KiB message: each is a TLS record, and frames that fill whole
// records (tlsRecordFit) take four, not five.
func BenchmarkBridgeDownTLS(b *testing.B) {
	srvConf, cliConf := tlsPair(b)
	tgt := startTarget(b, blockSource(b.N))
	var writes atomic.Int64
	addr := startTLSBridgeCounting(b, Config{Target: tgt.addr, LoggerFactory: quietLogger()}, srvConf, &writes)
	b.SetBytes(benchMsg)
	b.ReportAllocs()
	b.ResetTimer()
	c := dialTLSWS(b, addr, cliConf)
	benchDown(b, c)
	// The source starts at once, so the count includes the handshakes' few
	// writes: noise over b.N messages.
	b.ReportMetric(float64(writes.Load())/float64(b.N), "writes/op")
}

func BenchmarkTLSRelayDown(b *testing.B) {
	srvConf, cliConf := tlsPair(b)
	tgt := startTarget(b, blockSource(b.N))
	addr := startTLSRelay(b, tgt.addr, srvConf)
	b.SetBytes(benchMsg)
	b.ReportAllocs()
	b.ResetTimer()
	conn, err := tls.Dial("tcp", addr, cliConf)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	n, err := io.Copy(io.Discard, conn)
	b.StopTimer()
	if want := int64(b.N) * benchMsg; err != nil || n != want {
		b.Fatalf("client got %d B (%v), want %d", n, err, want)
	}
}

func TestTLSRecordFit(t *testing.T) {
	for _, tc := range []struct{ max, want int }{
		{64 << 10, 65532},     // the default: four records
		{65532, 65532},        //
		{65531, 49148},        // three
		{16380, 16380},        // one
		{16379, 0},            // under one record: reads are not bounded
		{1 << 20, 1<<20 - 10}, // 64 records, a 64-bit length
		{80 << 10, 81910},     // five records, a 64-bit length
		{81909, 65532},        // five would need 81910
	} {
		got := tlsRecordFit(tc.max)
		if got != tc.want {
			t.Errorf("tlsRecordFit(%d) = %d, want %d", tc.max, got, tc.want)
		}
		if got > 0 {
			if total := got + frames.HeaderLen(frames.Header{Length: int64(got)}); total%tlsRecord != 0 {
				t.Errorf("tlsRecordFit(%d) = %d: the frame is %d bytes, not whole records", tc.max, got, total)
			}
		}
	}
}

// TestTLSDownWholeRecords: bulk data from the target reaches a wss://
// client intact, in frames of 65 532 bytes whose 4-byte headers make them
// exactly four TLS records, one socket write each.
func TestTLSDownWholeRecords(t *testing.T) {
	const frames64 = 16 // frames of 65 532 bytes, and a short last one
	data := randBytes(3, frames64*65532+100)
	srvConf, cliConf := tlsPair(t)
	tgt := startTarget(t, func(c *net.TCPConn) {
		var go1 [1]byte
		if _, err := io.ReadFull(c, go1[:]); err != nil { // the client's trigger
			return
		}
		c.Write(data)
		c.CloseWrite()
	})
	var writes atomic.Int64
	addr := startTLSBridgeCounting(t, Config{Target: tgt.addr, LoggerFactory: quietLogger()}, srvConf, &writes)
	c := dialTLSWS(t, addr, cliConf)
	w0 := writes.Load() // the handshakes'
	c.conn.SetDeadline(time.Now().Add(waitFor))
	if err := c.wr.WriteMessage(frames.OpBinary, []byte("!")); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for {
		h, err := c.next()
		if ce := (*errClose)(nil); errors.As(err, &ce) {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", got.Len(), err)
		}
		if h.Length > 65532 {
			t.Errorf("a frame of %d bytes, want at most 65532 (whole TLS records)", h.Length)
		}
		if _, err := io.Copy(&got, c.rd); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("client got %d bytes, want the target's %d", got.Len(), len(data))
	}
	// Reads may come short (TCP hands over what has arrived), so this is
	// a bound, not an equality: four records per full frame, one for the
	// short one, one for the Close, and more only for short reads.
	if n := writes.Load() - w0; n < 4*frames64+2 {
		t.Errorf("%d record writes, want at least %d", n, 4*frames64+2)
	}
}
