package client

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
	"wsbridge/tunnel"
)

// waitLimit bounds every wait in these tests; nothing normally comes near.
const waitLimit = 10 * time.Second

// bridge starts wsbridge's tunnel server on loopback in front of target,
// with TLS if tlsCfg is not nil, and returns its address. It is shut down
// when the test ends.
func bridge(t *testing.T, target string, tlsCfg *tls.Config) string {
	t.Helper()
	return bridgeWith(t, tunnel.Config{Target: target}, tlsCfg)
}

// bridgeWith is bridge for a tunnel configured by cfg.
func bridgeWith(t *testing.T, cfg tunnel.Config, tlsCfg *tls.Config) string {
	t.Helper()
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelError
	cfg.LoggerFactory = lf
	ts, err := tunnel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	srv := &http.Server{Handler: ts, ReadHeaderTimeout: waitLimit}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) }) // ends at srv.Close below
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("tunnel shutdown: %v", err)
		}
		wg.Wait()
	})
	return ln.Addr().String()
}

// fakeServer accepts WebSocket upgrades on loopback and hands each, after
// the request is read, to handle; the answer is handle's to write.
func fakeServer(t *testing.T, handle func(c *net.TCPConn, br *bufio.Reader, r *http.Request)) string {
	t.Helper()
	return testpeer.TCP(t, func(c *net.TCPConn) {
		c.SetDeadline(time.Now().Add(waitLimit))
		br := bufio.NewReader(c)
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		handle(c, br, r)
	})
}

// accept101 answers r with a correct 101 choosing proto ("" for none) and
// returns a server-side frame reader and writer.
func accept101(c net.Conn, br *bufio.Reader, r *http.Request, proto string) (*frames.Reader, *frames.Writer) {
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		frames.AcceptKey(r.Header.Get("Sec-WebSocket-Key")) + "\r\n"
	if proto != "" {
		resp += "Sec-WebSocket-Protocol: " + proto + "\r\n"
	}
	io.WriteString(c, resp+"\r\n")
	return frames.NewReader(br, frames.RoleServer), frames.NewWriter(c, frames.RoleServer)
}

// hashWriter counts and hashes what is written to it.
type hashWriter struct {
	n int64
	w interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func newHashWriter() *hashWriter { return &hashWriter{w: sha256.New()} }

func (h *hashWriter) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	return h.w.Write(p)
}

func (h *hashWriter) sum() [sha256.Size]byte {
	var s [sha256.Size]byte
	copy(s[:], h.w.Sum(nil))
	return s
}

// localPair returns both ends of a loopback TCP connection, closed when
// the test ends: a src for Pipe that it can interrupt.
func localPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

// pipe dials url with d and runs Pipe with a deadline.
func pipe(t *testing.T, d *Dialer, url string, dst io.Writer, src io.Reader) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := d.Dial(ctx, url)
	if err != nil {
		return err
	}
	err = c.Pipe(ctx, dst, src)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Pipe did not end within %v", waitLimit)
	}
	return err
}
