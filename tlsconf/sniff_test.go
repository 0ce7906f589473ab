package tlsconf

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// sameDirCert writes a combined cert+key for 127.0.0.1 and localhost and
// returns the CA and the path.
func sameDirCert(t *testing.T) (*testCA, string) {
	ca := newCA(t, "test CA")
	return ca, writeFile(t, t.TempDir(), "self.pem", ca.server(t, "localhost", "127.0.0.1").combined())
}

func TestSamePortPlainAndTLS(t *testing.T) {
	ca, cert := sameDirCert(t)
	lf, _ := testLogs(t)
	p := newProvider(t, Config{Certs: []string{cert}, LoggerFactory: lf})
	addr := serve(t, p, nil, 5*time.Second, nil)

	body, err := get(t, "http://"+addr+"/", nil)
	if err != nil {
		t.Fatalf("plain GET: %v", err)
	}
	if want := "*net.TCPConn tls=false"; !strings.HasPrefix(body, want) {
		t.Errorf("plain GET: got %q, want prefix %q (an unwrapped TCP conn)", body, want)
	}

	body, err = get(t, "https://"+addr+"/", &tls.Config{RootCAs: ca.pool()})
	if err != nil {
		t.Fatalf("HTTPS GET: %v", err)
	}
	if want := "*tls.Conn tls=true"; !strings.HasPrefix(body, want) {
		t.Errorf("HTTPS GET: got %q, want prefix %q", body, want)
	}
}

// wrappedListener hides the concrete conn type, as a PROXY-protocol
// listener would, so the sniffer must read and replay the first byte.
type wrappedListener struct{ net.Listener }

type wrappedConn struct{ net.Conn }

func (l wrappedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrappedConn{c}, nil
}

func TestSamePortReplay(t *testing.T) {
	ca, cert := sameDirCert(t)
	lf, _ := testLogs(t)
	p := newProvider(t, Config{Certs: []string{cert}, LoggerFactory: lf})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, p, wrappedListener{ln}, 5*time.Second, nil)

	body, err := get(t, "http://"+addr+"/", nil)
	if err != nil {
		t.Fatalf("plain GET: %v", err)
	}
	if want := "*tlsconf.replayConn tls=false"; !strings.HasPrefix(body, want) {
		t.Errorf("plain GET: got %q, want prefix %q", body, want)
	}
	body, err = get(t, "https://"+addr+"/", &tls.Config{RootCAs: ca.pool()})
	if err != nil {
		t.Fatalf("HTTPS GET: %v", err)
	}
	if want := "*tls.Conn tls=true"; !strings.HasPrefix(body, want) {
		t.Errorf("HTTPS GET: got %q, want prefix %q", body, want)
	}
}

func TestSSLOnlyClosesPlain(t *testing.T) {
	ca, cert := sameDirCert(t)
	lf, logs := testLogs(t)
	p := newProvider(t, Config{Certs: []string{cert}, SSLOnly: true, LoggerFactory: lf})
	addr := serve(t, p, nil, 5*time.Second, nil)

	for _, tc := range []struct {
		name, send string
	}{
		{"http request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"sslv2-style byte without a hello", "\x80\x01garbage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("conn still open after 10 s")
			}
			// EOF or a reset (the server closed with our bytes unread):
			// either way no reply.
			if len(got) != 0 && !strings.HasPrefix(tc.send, "\x80") {
				t.Errorf("got %q, want no bytes", got)
			}
			if strings.HasPrefix(string(got), "HTTP/") {
				t.Errorf("got an HTTP reply %q", got)
			}
		})
	}
	if !logs.WaitFor("plain connection refused (--ssl-only)", 5*time.Second) {
		t.Errorf("refusal not logged")
	}
	if _, err := get(t, "https://"+addr+"/", &tls.Config{RootCAs: ca.pool()}); err != nil {
		t.Errorf("HTTPS GET with --ssl-only: %v", err)
	}
}

// TestSniffDoesNotBlockAccept: a client that connects and sends nothing
// holds up no one, and is closed after the handshake timeout.
func TestSniffDoesNotBlockAccept(t *testing.T) {
	_, cert := sameDirCert(t)
	lf, _ := testLogs(t)
	p := newProvider(t, Config{Certs: []string{cert}, LoggerFactory: lf})
	const timeout = 1500 * time.Millisecond
	addr := serve(t, p, nil, timeout, nil)

	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	closed := make(chan time.Time, 1)
	go func() { // reads the silent conn until the server closes it
		silent.SetReadDeadline(time.Now().Add(timeout + 10*time.Second))
		io.Copy(io.Discard, silent)
		closed <- time.Now()
	}()

	if _, err := get(t, "http://"+addr+"/", nil); err != nil {
		t.Fatalf("second client: %v", err)
	}
	served := time.Now()

	end := <-closed
	if end.Before(served) {
		t.Errorf("silent conn closed before the second client was served")
	}
	if d := end.Sub(start); d < timeout-100*time.Millisecond || d > timeout+5*time.Second {
		t.Errorf("silent conn closed after %v, want about %v", d, timeout)
	}
}

// TestListenerCloseInterruptsSniff: Close does not wait out the
// handshake timeout of a silent client.
func TestListenerCloseInterruptsSniff(t *testing.T) {
	_, cert := sameDirCert(t)
	lf, _ := testLogs(t)
	p := newProvider(t, Config{Certs: []string{cert}, LoggerFactory: lf})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := p.Listener(ln, time.Minute)
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// A plain request completes the round trip through the sniffer, so
	// the silent conn, dialled first, has been accepted by then.
	other, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	io.WriteString(other, "G")
	c, err := sl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	start := time.Now()
	if err := sl.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, silent); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("silent conn still open after Close")
	}
	if _, err := sl.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: got %v, want net.ErrClosed", err)
	}
}
