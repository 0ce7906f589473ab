package access

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pires/go-proxyproto"
)

// DefaultProxyHeaderTimeout is how long ProxyProtoListener waits for a PROXY
// header when given no timeout.
const DefaultProxyHeaderTimeout = 5 * time.Second

// proxyReadBuffer holds the longest v1 header (107 bytes), which the parser
// wants whole in the buffer, plus room for common v2 TLVs.
const proxyReadBuffer = 256

// ProxyProtoListener wraps ln so that connections from load balancers
// speaking HAProxy's PROXY protocol (v1 text or v2 binary) report the real
// client as their RemoteAddr.
//
// Trust is explicit: trusted lists the load balancers' addresses, and a nil
// or empty list trusts no one (there is no "trust everybody"; list
// 0.0.0.0/0 and ::/0 to mean that). Then, for each connection:
//
//   - From a trusted source, a header is REQUIRED. A connection that sends
//     none within headerTimeout, or a malformed one, is refused, so a
//     balancer that forgot to turn the protocol on is noticed at once
//     instead of every client appearing to be the balancer. A LOCAL (v2)
//     or UNKNOWN (v1) header, as health checks send, keeps the balancer's
//     own address, as does a header naming a non-TCP (UDP, unix) source.
//   - From any other source, the connection is served as a direct one, and
//     a PROXY header from it is refused: a client must not pick its own
//     address.
//
// Refusing closes the connection; the first Read returns the reason
// (wrapping the parser's error where there is one). The header is read
// lazily, on the first Read or RemoteAddr call, so Accept never blocks on a
// slow client; those calls wait at most headerTimeout (zero or negative
// means DefaultProxyHeaderTimeout), or less if an earlier read deadline was
// set. RemoteAddr therefore must not be called on the accept goroutine
// (http.Server calls it on the connection's own goroutine). LocalAddr is
// always the socket's own address. Non-IP peers (unix sockets) are never
// trusted.
func ProxyProtoListener(ln net.Listener, trusted []netip.Prefix, headerTimeout time.Duration) net.Listener {
	if headerTimeout <= 0 {
		headerTimeout = DefaultProxyHeaderTimeout
	}
	t := make([]netip.Prefix, 0, len(trusted))
	for _, p := range trusted {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		t = append(t, p.Masked())
	}
	return &proxyListener{Listener: ln, trusted: t, timeout: headerTimeout}
}

// proxyListener is the net.Listener ProxyProtoListener returns.
type proxyListener struct {
	net.Listener
	trusted []netip.Prefix
	timeout time.Duration
}

// Accept returns the next connection, wrapped; it does not read from it.
func (l *proxyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &proxyConn{
		Conn:    c,
		br:      bufio.NewReaderSize(c, proxyReadBuffer),
		trusted: l.trusts(c.RemoteAddr()),
		timeout: l.timeout,
		remote:  c.RemoteAddr(),
	}, nil
}

// trusts reports whether a peer may send a PROXY header.
func (l *proxyListener) trusts(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return false
	}
	ip = clean(ip)
	for _, p := range l.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// proxyConn reads the PROXY header, if any, before the first byte of data.
// Reads go through br, which holds what the header check read ahead.
type proxyConn struct {
	net.Conn
	br      *bufio.Reader
	trusted bool
	timeout time.Duration

	once   sync.Once
	err    error    // why the connection was refused; set once
	remote net.Addr // the client; written only inside once

	mu           sync.Mutex
	userDeadline time.Time // the caller's read deadline
	hdrDeadline  time.Time // the header deadline while reading it, else zero
}

var _ net.Conn = (*proxyConn)(nil)

// handshake reads and checks the header once; every caller gets its result.
func (c *proxyConn) handshake() error {
	c.once.Do(func() {
		if err := c.readHeader(); err != nil {
			c.err = err
			c.Conn.Close()
		}
	})
	return c.err
}

// readHeader applies the trust rules of ProxyProtoListener.
func (c *proxyConn) readHeader() error {
	c.mu.Lock()
	c.hdrDeadline = time.Now().Add(c.timeout)
	c.applyDeadlineLocked()
	c.mu.Unlock()

	hdr, err := proxyproto.Read(c.br)

	c.mu.Lock()
	c.hdrDeadline = time.Time{}
	restoreErr := c.applyDeadlineLocked()
	c.mu.Unlock()

	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	absent := errors.Is(err, proxyproto.ErrNoProxyProtocol)
	switch {
	case !c.trusted && (absent || timedOut):
		return restoreErr // a direct client, as expected
	case !c.trusted:
		return fmt.Errorf("access: PROXY header from untrusted %s refused", c.remote)
	case timedOut:
		return fmt.Errorf("access: no PROXY header from trusted %s within %s", c.remote, c.timeout)
	case absent:
		return fmt.Errorf("access: no PROXY header from trusted %s: %w", c.remote, err)
	case err != nil:
		return fmt.Errorf("access: bad PROXY header from trusted %s: %w", c.remote, err)
	}
	if src, _, ok := hdr.TCPAddrs(); ok && !hdr.Command.IsLocal() {
		c.remote = src
	}
	return restoreErr
}

// applyDeadlineLocked sets the socket's read deadline to the earlier of the
// caller's and the header's.
func (c *proxyConn) applyDeadlineLocked() error {
	d := c.userDeadline
	if !c.hdrDeadline.IsZero() && (d.IsZero() || c.hdrDeadline.Before(d)) {
		d = c.hdrDeadline
	}
	return c.Conn.SetReadDeadline(d)
}

// Read reads data after the header; a refused connection returns why.
func (c *proxyConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.br.Read(b)
}

// RemoteAddr is the client the PROXY header names, or the peer itself. It
// waits for the header; see ProxyProtoListener.
func (c *proxyConn) RemoteAddr() net.Addr {
	c.handshake()
	return c.remote
}

// SetDeadline sets both deadlines, remembering the read one so the header
// wait never extends it.
func (c *proxyConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline; while the header is awaited, the
// earlier of it and the header's applies.
func (c *proxyConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.userDeadline = t
	return c.applyDeadlineLocked()
}

// CloseWrite half-closes the connection when the socket supports it.
func (c *proxyConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return fmt.Errorf("access: %T cannot half-close", c.Conn)
}
