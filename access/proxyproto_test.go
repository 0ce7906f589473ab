package access

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

// loopback trusts the test's own connections.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// proxyPair returns a client connection and the server side of it as
// accepted by a ProxyProtoListener. The kernel completes the connection
// before Accept, so no goroutine is needed.
func proxyPair(t *testing.T, trusted []netip.Prefix, timeout time.Duration) (client, server net.Conn) {
	t.Helper()
	ln, _ := listen(t)
	pl := ProxyProtoListener(ln, trusted, timeout)
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = pl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}

// v2Header is a binary PROXY header naming src.
func v2Header(t *testing.T, src string) []byte {
	t.Helper()
	h := proxyproto.HeaderProxyFromAddrs(2, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(src)),
		net.TCPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.200:443")))
	if strings.HasPrefix(src, "[") {
		h = proxyproto.HeaderProxyFromAddrs(2, net.TCPAddrFromAddrPort(netip.MustParseAddrPort(src)),
			net.TCPAddrFromAddrPort(netip.MustParseAddrPort("[2001:db8::200]:443")))
	}
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// v2Local is a v2 LOCAL header, as health checks send.
func v2Local(t *testing.T) []byte {
	t.Helper()
	b, err := (&proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}).Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProxyProtoAccepted(t *testing.T) {
	tests := []struct {
		name       string
		header     func(t *testing.T) []byte
		wantRemote string // "" = the peer's own address
	}{
		{"v1 TCP4", func(*testing.T) []byte { return []byte("PROXY TCP4 198.51.100.7 192.0.2.200 40000 443\r\n") }, "198.51.100.7:40000"},
		{"v1 TCP6", func(*testing.T) []byte { return []byte("PROXY TCP6 2001:db8::7 2001:db8::200 40000 443\r\n") }, "[2001:db8::7]:40000"},
		{"v1 UNKNOWN", func(*testing.T) []byte { return []byte("PROXY UNKNOWN\r\n") }, ""},
		{"v2 IPv4", func(t *testing.T) []byte { return v2Header(t, "198.51.100.8:40001") }, "198.51.100.8:40001"},
		{"v2 IPv6", func(t *testing.T) []byte { return v2Header(t, "[2001:db8::8]:40001") }, "[2001:db8::8]:40001"},
		{"v2 LOCAL", v2Local, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := proxyPair(t, loopback, 5*time.Second)
			if _, err := client.Write(append(tt.header(t), "GET / HTTP/1.1\r\n"...)); err != nil {
				t.Fatal(err)
			}
			want := tt.wantRemote
			if want == "" {
				want = client.LocalAddr().String()
			}
			if got := server.RemoteAddr().String(); got != want {
				t.Errorf("got RemoteAddr %s, want %s", got, want)
			}
			if got, want := server.LocalAddr().String(), client.RemoteAddr().String(); got != want {
				t.Errorf("got LocalAddr %s, want the socket's %s", got, want)
			}
			buf := make([]byte, len("GET / HTTP/1.1\r\n"))
			if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "GET / HTTP/1.1\r\n" {
				t.Errorf("got data %q, %v, want the bytes after the header", buf, err)
			}
		})
	}
}

func TestProxyProtoRefused(t *testing.T) {
	others := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		send    string
		wantErr string
	}{
		{"untrusted v1", others, "PROXY TCP4 198.51.100.7 192.0.2.200 40000 443\r\nGET /", "from untrusted"},
		{"untrusted v2", others, "\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + "\xc6\x33\x64\x07\xc0\x00\x02\xc8\x9c\x40\x01\xbb", "from untrusted"},
		{"nobody trusted", nil, "PROXY TCP4 198.51.100.7 192.0.2.200 40000 443\r\n", "from untrusted"},
		{"trusted without header", loopback, "GET / HTTP/1.1\r\n\r\n", "no PROXY header from trusted"},
		{"trusted, bad header", loopback, "PROXY TCP4 nonsense\r\n", "bad PROXY header from trusted"},
		{"trusted, EOF", loopback, "", "no PROXY header from trusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := proxyPair(t, tt.trusted, 5*time.Second)
			if _, err := io.WriteString(client, tt.send); err != nil {
				t.Fatal(err)
			}
			if tt.send == "" {
				client.(*net.TCPConn).CloseWrite()
			}
			_, err := server.Read(make([]byte, 16))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got Read error %v, want one containing %q", err, tt.wantErr)
			}
			if got, want := server.RemoteAddr().String(), client.LocalAddr().String(); got != want {
				t.Errorf("got RemoteAddr %s, want the peer's own %s", got, want)
			}
			// The listener closed the connection: the client sees it end.
			client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := client.Read(make([]byte, 1)); err == nil || isTimeout(err) {
				t.Errorf("got client Read %d, %v, want the connection closed", n, err)
			}
		})
	}
}

// isTimeout reports whether err is a deadline expiring.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestProxyProtoUntrustedDirect(t *testing.T) {
	others := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	for _, send := range []string{"GET / HTTP/1.1\r\n", "POST /x HTTP/1.1\r\n", "\x16\x03\x01\x00"} {
		client, server := proxyPair(t, others, 5*time.Second)
		if _, err := io.WriteString(client, send); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(send))
		if _, err := io.ReadFull(server, buf); err != nil || string(buf) != send {
			t.Errorf("got %q, %v, want %q passed through", buf, err, send)
		}
		if got, want := server.RemoteAddr().String(), client.LocalAddr().String(); got != want {
			t.Errorf("got RemoteAddr %s, want %s", got, want)
		}
	}
}

// TestProxyProtoHeaderTimeout: a trusted peer that sends nothing is
// refused once the header timeout passes (a bounded wait, not a sleep).
func TestProxyProtoHeaderTimeout(t *testing.T) {
	client, server := proxyPair(t, loopback, 50*time.Millisecond)
	start := time.Now()
	_, err := server.Read(make([]byte, 1))
	if err == nil || !strings.Contains(err.Error(), "no PROXY header from trusted") || !strings.Contains(err.Error(), "within 50ms") {
		t.Fatalf("got %v, want a header timeout", err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Errorf("got a %s wait, want about 50ms", waited)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("got client Read error %v, want the connection closed", err)
	}
}

// TestProxyProtoUserDeadline: an earlier read deadline set by the caller
// (http.Server's ReadHeaderTimeout) bounds the header wait too.
func TestProxyProtoUserDeadline(t *testing.T) {
	_, server := proxyPair(t, loopback, time.Hour)
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	timer := time.AfterFunc(10*time.Second, func() { server.Close() }) // backstop, should the deadline be ignored
	defer timer.Stop()
	_, err := server.Read(make([]byte, 1))
	if err == nil || !strings.Contains(err.Error(), "no PROXY header") {
		t.Fatalf("got %v, want the header wait ended by the caller's deadline", err)
	}
}

// deadlineConn records read deadlines set on a net.Pipe end and claims a
// loopback TCP peer so that the listener trusts it.
type deadlineConn struct {
	net.Conn
	mu        sync.Mutex
	deadlines []time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadlines = append(c.deadlines, t)
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *deadlineConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
}

// oneConnListener hands out a single conn.
type oneConnListener struct {
	net.Listener
	c net.Conn
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	c := l.c
	if c == nil {
		return nil, net.ErrClosed
	}
	l.c = nil
	return c, nil
}

// TestProxyProtoDeadlineRestored: after the header, the socket's read
// deadline is the caller's again, not the header's.
func TestProxyProtoDeadlineRestored(t *testing.T) {
	userDeadline := time.Now().Add(time.Hour)
	for _, tt := range []struct {
		name string
		set  bool
		want time.Time
	}{{"none", false, time.Time{}}, {"caller's", true, userDeadline}} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			dc := &deadlineConn{Conn: b}
			server, err := ProxyProtoListener(&oneConnListener{c: dc}, loopback, time.Minute).Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close()
			if tt.set {
				server.SetDeadline(userDeadline)
			}
			var wg sync.WaitGroup
			// The writer: net.Pipe is synchronous, so the header needs a
			// goroutine to send it; it ends when the write completes.
			wg.Go(func() { io.WriteString(a, "PROXY TCP4 198.51.100.7 192.0.2.200 40000 443\r\nX") })
			buf := make([]byte, 1)
			if _, err := io.ReadFull(server, buf); err != nil || buf[0] != 'X' {
				t.Fatalf("got %q, %v, want X", buf, err)
			}
			wg.Wait()
			dc.mu.Lock()
			defer dc.mu.Unlock()
			if got := dc.deadlines[len(dc.deadlines)-1]; !got.Equal(tt.want) {
				t.Errorf("got final read deadline %v, want %v", got, tt.want)
			}
			if hdr := dc.deadlines[len(dc.deadlines)-2]; hdr.IsZero() || (tt.set && hdr.After(userDeadline)) {
				t.Errorf("got header deadline %v, want one set and not after %v", hdr, userDeadline)
			}
		})
	}
}

// TestProxyProtoHTTP runs an http.Server behind the listener and checks
// that handlers see the client from the header in r.RemoteAddr.
func TestProxyProtoHTTP(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr)
	}))
	ts.Listener = ProxyProtoListener(ts.Listener, loopback, 5*time.Second)
	ts.Start()
	defer ts.Close()

	conn, err := net.Dial("tcp4", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "PROXY TCP4 198.51.100.7 192.0.2.200 40000 443\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got, want := string(body), "198.51.100.7:40000"; got != want {
		t.Errorf("got r.RemoteAddr %q, want %q", got, want)
	}
}

func TestProxyProtoCloseWrite(t *testing.T) {
	client, server := proxyPair(t, nil, time.Second)
	io.WriteString(client, "hi")
	if _, err := io.ReadFull(server, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	if err := server.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatalf("got CloseWrite error %v, want nil", err)
	}
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := client.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("got %d, %v after CloseWrite, want 0, EOF", n, err)
	}
}

// TestProxyProtocolHeader: Header, given the bytes as an event loop reads
// them (one more each time), answers io.ErrUnexpectedEOF until it can
// tell, and then what a ProxyProtoListener's connection says for the same
// bytes: the same client, or a refusal for the same reason.
func TestProxyProtocolHeader(t *testing.T) {
	others := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	const req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	long := "PROXY TCP4 " + strings.Repeat("1", 120) + "\r\n"
	tests := []struct {
		name       string
		trusted    []netip.Prefix
		header     []byte // then req
		wantRemote string // "" = the peer's own address
		wantErr    string
	}{
		{"v1 TCP4", loopback, []byte("PROXY TCP4 198.51.100.7 192.0.2.200 40000 443\r\n"), "198.51.100.7:40000", ""},
		{"v1 TCP6", loopback, []byte("PROXY TCP6 2001:db8::7 2001:db8::200 40000 443\r\n"), "[2001:db8::7]:40000", ""},
		{"v1 UNKNOWN", loopback, []byte("PROXY UNKNOWN\r\n"), "", ""},
		{"v2 IPv4", loopback, v2Header(t, "198.51.100.8:40001"), "198.51.100.8:40001", ""},
		{"v2 IPv6", loopback, v2Header(t, "[2001:db8::8]:40001"), "[2001:db8::8]:40001", ""},
		{"v2 LOCAL", loopback, v2Local(t), "", ""},
		{"direct client", others, nil, "", ""},
		{"direct client, nobody trusted", nil, nil, "", ""},
		{"untrusted v1", others, []byte("PROXY TCP4 198.51.100.7 192.0.2.200 40000 443\r\n"), "", "from untrusted"},
		{"untrusted v2", others, v2Header(t, "198.51.100.8:40001"), "", "from untrusted"},
		{"trusted without header", loopback, nil, "", "no PROXY header from trusted"},
		{"trusted, bad header", loopback, []byte("PROXY TCP4 nonsense\r\n"), "", "bad PROXY header from trusted"},
		{"trusted, v1 line too long", loopback, []byte(long), "", "bad PROXY header from trusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send := append(append([]byte(nil), tt.header...), req...)

			// The listener's answer.
			client, server := proxyPair(t, tt.trusted, 5*time.Second)
			if _, err := client.Write(send); err != nil {
				t.Fatal(err)
			}
			_, rerr := server.Read(make([]byte, 1))
			peer := netip.MustParseAddrPort(client.LocalAddr().String())
			listenerRemote := server.RemoteAddr().String()

			// Header's, a byte more each time.
			p := NewProxyProtocol(tt.trusted, 5*time.Second)
			var (
				got netip.AddrPort
				n   int
				err error
				k   int
			)
			for k = 1; k <= len(send); k++ {
				if got, n, err = p.Header(peer, send[:k]); !errors.Is(err, io.ErrUnexpectedEOF) {
					break
				}
			}
			if k > len(send) {
				t.Fatalf("no answer from all %d bytes", len(send))
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Header: %v, want an error containing %q", err, tt.wantErr)
				}
				if rerr == nil || !strings.Contains(rerr.Error(), tt.wantErr) {
					t.Errorf("the listener's Read: %v, want it to refuse as Header did", rerr)
				}
				if tt.wantErr == "from untrusted" && k > len(proxyproto.SIGV2) {
					t.Errorf("an untrusted header refused after %d bytes, want at its signature", k)
				}
				return
			}
			if err != nil {
				t.Fatalf("Header: %v", err)
			}
			if rerr != nil {
				t.Errorf("the listener's Read: %v, want the request", rerr)
			}
			if n != len(tt.header) || k > len(tt.header)+5 {
				t.Errorf("Header: length %d after %d bytes, want %d as soon as the header is whole", n, k, len(tt.header))
			}
			want := tt.wantRemote
			if want == "" {
				want = peer.String()
				if got.IsValid() {
					t.Errorf("Header: client %s, want the peer's own address kept", got)
				}
			} else if got.String() != want {
				t.Errorf("Header: client %s, want %s", got, want)
			}
			if listenerRemote != want {
				t.Errorf("the listener's RemoteAddr %s, want %s as Header", listenerRemote, want)
			}
			// Later bytes do not change the answer.
			if got2, n2, err2 := p.Header(peer, send); got2 != got || n2 != n || err2 != nil {
				t.Errorf("Header on all bytes: %v, %d, %v; want %v, %d, nil", got2, n2, err2, got, n)
			}
		})
	}
	t.Run("unix peer", func(t *testing.T) {
		p := NewProxyProtocol([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, time.Second)
		if _, _, err := p.Header(netip.AddrPort{}, []byte("PROXY UNKNOWN\r\n")); err == nil || !strings.Contains(err.Error(), "untrusted @") {
			t.Errorf("a header from a unix peer: %v, want it refused as untrusted @", err)
		}
		if got, n, err := p.Header(netip.AddrPort{}, []byte(req)); got.IsValid() || n != 0 || err != nil {
			t.Errorf("a direct unix peer: %v, %d, %v; want it kept", got, n, err)
		}
	})
}
