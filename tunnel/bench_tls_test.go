package tunnel

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"wsbridge/internal/testpeer"
)

// The TLS benchmarks compare the bridge behind TLS (wss://) with a plain
// TLS-terminating TCP relay (what socat OPENSSL-LISTEN or stunnel do): the
// relay pays only for the crypto, so the ratio shows what the WebSocket
// framing adds on top of it.

// tlsPair returns a server config and a client config trusting it.
func tlsPair(b *testing.B) (srv, cli *tls.Config) {
	ca := testpeer.NewCA(b, "bench CA")
	cert, _, _ := ca.Issue(b, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: ca.Pool, ServerName: "127.0.0.1"}
}

// startTLSBridge runs a Server for cfg behind a TLS listener.
func startTLSBridge(b *testing.B, cfg Config, srvConf *tls.Config) string {
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
	go func() { defer close(done); hs.Serve(tls.NewListener(ln, srvConf)) }()
	b.Cleanup(func() {
		hs.Close()
		s.Shutdown(b.Context())
		<-done
	})
	return ln.Addr().String()
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
	conn, err := tls.Dial("tcp", addr, cliConf)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c, _, err := handshakeWS(conn, "/", addr)
	if err != nil {
		b.Fatal(err)
	}
	conn.SetDeadline(time.Time{})
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

func BenchmarkBridgeDownTLS(b *testing.B) {
	srvConf, cliConf := tlsPair(b)
	tgt := startTarget(b, blockSource(b.N))
	addr := startTLSBridge(b, Config{Target: tgt.addr, LoggerFactory: quietLogger()}, srvConf)
	b.SetBytes(benchMsg)
	b.ReportAllocs()
	b.ResetTimer()
	conn, err := tls.Dial("tcp", addr, cliConf)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c, _, err := handshakeWS(conn, "/", addr)
	if err != nil {
		b.Fatal(err)
	}
	conn.SetDeadline(time.Time{})
	benchDown(b, c)
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
