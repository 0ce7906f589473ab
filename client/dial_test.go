package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// TestDialHandshake: the request carries what the server needs, and an
// answer RFC 6455 §4.1 says to fail is refused with a clear error.
func TestDialHandshake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		dialer  Dialer
		answer  func(c net.Conn, br *bufio.Reader, r *http.Request)
		wantErr string // "" for success
	}{
		{"ok", Dialer{Header: http.Header{"Authorization": {"Bearer abc"}}}, func(c net.Conn, br *bufio.Reader, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer abc" || r.Header.Get("Sec-WebSocket-Protocol") != "binary" ||
				r.Header.Get("Sec-WebSocket-Version") != "13" || !frames.CheckKey(r.Header.Get("Sec-WebSocket-Key")) ||
				r.URL.RequestURI() != "/ssh?token=abc" {
				io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 12\r\n\r\nbad request\n")
				return
			}
			accept101(c, br, r, "binary")
		}, ""},
		{"refused", Dialer{}, func(c net.Conn, br *bufio.Reader, r *http.Request) {
			io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 20\r\n\r\n\nunknown token\nmore\n")
		}, "client: handshake refused: 403 Forbidden: unknown token"},
		{"bad accept", Dialer{}, func(c net.Conn, br *bufio.Reader, r *http.Request) {
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n")
		}, "Sec-WebSocket-Accept"},
		{"not offered", Dialer{}, func(c net.Conn, br *bufio.Reader, r *http.Request) {
			accept101(c, br, r, "base64")
		}, `server chose subprotocol "base64"`},
		{"custom subprotocol", Dialer{Subprotocols: []string{"ssh"}}, func(c net.Conn, br *bufio.Reader, r *http.Request) {
			accept101(c, br, r, r.Header.Get("Sec-WebSocket-Protocol"))
		}, ""},
		{"none offered", Dialer{Subprotocols: []string{}}, func(c net.Conn, br *bufio.Reader, r *http.Request) {
			if len(r.Header.Values("Sec-WebSocket-Protocol")) > 0 {
				return
			}
			accept101(c, br, r, "")
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := fakeServer(t, func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
				tt.answer(c, br, r)
				io.Copy(io.Discard, br) // until the client hangs up
			})
			c, err := tt.dialer.Dial(context.Background(), "ws://"+addr+"/ssh?token=abc")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("Dial succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "client: ") {
				t.Errorf("got %q, want %q in a client: error", err, tt.wantErr)
			}
		})
	}
	t.Run("handshake error value", func(t *testing.T) {
		t.Parallel()
		addr := fakeServer(t, func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nnope\n")
		})
		_, err := (&Dialer{}).Dial(context.Background(), "ws://"+addr+"/")
		var he *HandshakeError
		if !errors.As(err, &he) || he.Status != "502 Bad Gateway" || he.Body != "nope" {
			t.Errorf("got %#v, want a HandshakeError 502 with body nope", err)
		}
	})
	for _, u := range []string{"http://x/", "ws:///path", "%zz"} {
		if _, err := (&Dialer{}).Dial(context.Background(), u); err == nil || !strings.HasPrefix(err.Error(), "client: ") {
			t.Errorf("Dial(%q): got %v, want a client: error", u, err)
		}
	}
}

// TestDialTLS: wss:// with the server's CA given, with and without a
// client certificate the server requires.
func TestDialTLS(t *testing.T) {
	t.Parallel()
	ca := testpeer.NewCA(t, "test CA")
	serverCert, _, _ := ca.Issue(t, "localhost", x509.ExtKeyUsageServerAuth)
	clientCert, _, _ := ca.Issue(t, "alice", x509.ExtKeyUsageClientAuth)
	target := testpeer.TCP(t, testpeer.Echo)
	plain := bridge(t, target, &tls.Config{Certificates: []tls.Certificate{serverCert}})
	mutual := bridge(t, target, &tls.Config{Certificates: []tls.Certificate{serverCert},
		ClientCAs: ca.Pool, ClientAuth: tls.RequireAndVerifyClientCert})

	tests := []struct {
		name    string
		addr    string
		cfg     *tls.Config
		wantErr bool
	}{
		{"CA given", plain, &tls.Config{RootCAs: ca.Pool}, false},
		{"unknown CA", plain, nil, true},
		{"insecure", plain, &tls.Config{InsecureSkipVerify: true}, false},
		{"mTLS", mutual, &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{clientCert}}, false},
		{"mTLS without a certificate", mutual, &tls.Config{RootCAs: ca.Pool}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			err := pipe(t, &Dialer{TLSConfig: tt.cfg}, "wss://"+tt.addr+"/", &out, strings.NewReader("over TLS"))
			if tt.wantErr {
				if err == nil {
					t.Fatal("succeeded, want an error")
				}
				return
			}
			if err != nil || out.String() != "over TLS" {
				t.Fatalf("got %q %v, want %q", out.String(), err, "over TLS")
			}
		})
	}
}

// connectProxy is a minimal HTTP proxy that only does CONNECT.
type connectProxy struct {
	addr     string
	connects atomic.Int32
	mu       sync.Mutex
	targets  []string
}

func startProxy(t *testing.T) *connectProxy {
	p := &connectProxy{}
	p.addr = testpeer.TCP(t, p.handle)
	return p
}

// handle serves one proxy client: CONNECT, then bytes both ways until
// both sides are done.
func (p *connectProxy) handle(c *net.TCPConn) {
	br := bufio.NewReader(c)
	r, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if r.Method != http.MethodConnect {
		io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	p.connects.Add(1)
	p.mu.Lock()
	p.targets = append(p.targets, r.Host)
	p.mu.Unlock()
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	var wg sync.WaitGroup
	wg.Go(func() { // client to target; ends at the client's FIN
		io.Copy(up, br)
		up.(*net.TCPConn).CloseWrite()
	})
	io.Copy(c, up)
	c.CloseWrite()
	wg.Wait()
}

// TestDialProxy: a Dialer whose Proxy names an HTTP proxy reaches the
// bridge through CONNECT.
func TestDialProxy(t *testing.T) {
	t.Parallel()
	addr := bridge(t, testpeer.TCP(t, testpeer.Echo), nil)
	p := startProxy(t)
	d := &Dialer{Proxy: func(u *url.URL) (*url.URL, error) {
		if u.Scheme != "http" {
			t.Errorf("proxy asked for scheme %q, want http for ws://", u.Scheme)
		}
		return &url.URL{Scheme: "http", Host: p.addr}, nil
	}}
	var out strings.Builder
	if err := pipe(t, d, "ws://"+addr+"/", &out, strings.NewReader("through the proxy")); err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	if out.String() != "through the proxy" {
		t.Errorf("got %q", out.String())
	}
	if n := p.connects.Load(); n != 1 || p.targets[0] != addr {
		t.Errorf("proxy saw %d CONNECTs to %q, want 1 to %s", n, p.targets, addr)
	}
}

// TestProxyFromEnvironment: the variables pick the proxy as curl and
// net/http do.
func TestProxyFromEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"HTTPS_PROXY": "http://secure-proxy:3128",
		"http_proxy":  "http://plain-proxy:8080",
		"NO_PROXY":    "internal.example",
	}
	proxy := ProxyFromEnvironment(func(k string) string { return env[k] })
	tests := []struct{ target, want string }{
		{"https://gw.example/ssh", "http://secure-proxy:3128"},
		{"http://gw.example/ssh", "http://plain-proxy:8080"},
		{"https://internal.example/", ""},
		{"https://localhost:8443/", ""},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.target)
		got, err := proxy(u)
		if err != nil {
			t.Fatal(err)
		}
		gs := ""
		if got != nil {
			gs = got.String()
		}
		if gs != tt.want {
			t.Errorf("proxy for %s: got %q, want %q", tt.target, gs, tt.want)
		}
	}
}

// TestServe: each accepted connection gets its own tunnel, and the local
// client's FIN reaches the target.
func TestServe(t *testing.T) {
	t.Parallel()
	addr := bridge(t, testpeer.TCP(t, testpeer.Echo), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- (&Dialer{}).Serve(ctx, ln, "ws://"+addr+"/", nil) }() // ends when ctx is cancelled
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { // one local client; ends when its echo is read
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			msg := strings.Repeat("local client ", 1000*(i+1))
			if _, err := io.WriteString(c, msg); err != nil {
				t.Error(err)
				return
			}
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			if err != nil || string(got) != msg {
				t.Errorf("client %d: got %d bytes %v, want %d", i, len(got), err, len(msg))
			}
		})
	}
	wg.Wait()
}
