package access

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
	return NewProxyProtocol(trusted, headerTimeout).Listener(ln)
}

// ProxyProtocol reads PROXY headers under one set of trust rules (those of
// ProxyProtoListener): on a listener's connections (Listener), on a
// connection accepted elsewhere (Wrap), or from bytes an event loop has
// read itself (Header).
type ProxyProtocol struct {
	trusted []netip.Prefix
	timeout time.Duration
}

// NewProxyProtocol returns the rules of ProxyProtoListener for trusted and
// headerTimeout.
func NewProxyProtocol(trusted []netip.Prefix, headerTimeout time.Duration) *ProxyProtocol {
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
	return &ProxyProtocol{trusted: t, timeout: headerTimeout}
}

// Listener wraps ln as ProxyProtoListener does.
func (p *ProxyProtocol) Listener(ln net.Listener) net.Listener {
	return &proxyListener{Listener: ln, p: p}
}

// Wrap returns c reading its PROXY header as a ProxyProtoListener's
// connections do: for a connection accepted by other means, from which
// nothing was read yet.
func (p *ProxyProtocol) Wrap(c net.Conn) net.Conn {
	return &proxyConn{
		Conn:    c,
		br:      bufio.NewReaderSize(c, proxyReadBuffer),
		p:       p,
		trusted: p.trusts(c.RemoteAddr()),
		remote:  c.RemoteAddr(),
	}
}

// Header reads the PROXY header at the start of b, the first bytes a
// connection from peer (the zero AddrPort for a unix peer) sent, under the
// same rules: client is the address the header names, or the zero
// AddrPort to keep peer's (no header, a LOCAL or UNKNOWN one); n is the
// header's length, 0 with none. While b may still turn out to hold a
// header, err is io.ErrUnexpectedEOF: call again with more bytes. Any
// other error refuses the connection, and says why. Header does not wait:
// the caller bounds the time the header takes. An untrusted peer is
// refused as soon as its bytes start with a header's signature, so that
// it cannot make the caller hold up to 64 KiB of a header it would refuse.
func (p *ProxyProtocol) Header(peer netip.AddrPort, b []byte) (client netip.AddrPort, n int, err error) {
	trusted, remote := false, "@" // a unix peer, named as net/http names it
	if peer.IsValid() {
		trusted, remote = p.trustsAddr(peer.Addr()), peer.String()
	}
	n, more := headerLen(b)
	signed := bytes.HasPrefix(b, proxyproto.SIGV1) || bytes.HasPrefix(b, proxyproto.SIGV2)
	switch {
	case !trusted && signed:
		return netip.AddrPort{}, 0, p.untrusted(remote)
	case more:
		return netip.AddrPort{}, 0, io.ErrUnexpectedEOF
	}
	var hdr *proxyproto.Header
	perr := proxyproto.ErrNoProxyProtocol
	if n > 0 {
		hdr, perr = proxyproto.Read(bufio.NewReaderSize(bytes.NewReader(b[:n]), n))
	}
	src, err := p.check(remote, trusted, hdr, perr)
	return src, n, err
}

// headerLen finds where a PROXY header at the start of b ends, as far as
// its framing tells (proxyproto.Read checks the rest): n is its length, 0
// with no header; more means b ends before that is known. It looks at
// what proxyproto.Read would peek at: 5 bytes after a first 'P' or '\r',
// 12 after a '\r', then a v1 line (at most 107 bytes) or a v2 header
// with its length.
func headerLen(b []byte) (n int, more bool) {
	const maxV1 = 107
	switch {
	case len(b) == 0:
		return 0, true
	case b[0] != proxyproto.SIGV1[0] && b[0] != proxyproto.SIGV2[0]:
		return 0, false
	case len(b) < len(proxyproto.SIGV1):
		return 0, true
	case bytes.Equal(b[:len(proxyproto.SIGV1)], proxyproto.SIGV1):
		if i := bytes.IndexByte(b[:min(len(b), maxV1)], '\n'); i >= 0 {
			return i + 1, false
		}
		if len(b) >= maxV1 {
			return maxV1, false // too long: the parser says so
		}
		return 0, true
	case len(b) < len(proxyproto.SIGV2):
		return 0, true
	case !bytes.Equal(b[:len(proxyproto.SIGV2)], proxyproto.SIGV2):
		return 0, false
	case len(b) < 16:
		return 0, true
	}
	n = 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if len(b) < n {
		return 0, true
	}
	return n, false
}

// proxyListener is the net.Listener ProxyProtoListener returns.
type proxyListener struct {
	net.Listener
	p *ProxyProtocol
}

// Accept returns the next connection, wrapped; it does not read from it.
func (l *proxyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.p.Wrap(c), nil
}

// trusts reports whether a peer may send a PROXY header.
func (p *ProxyProtocol) trusts(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	return ok && p.trustsAddr(ip)
}

// trustsAddr reports whether a peer at ip may send a PROXY header.
func (p *ProxyProtocol) trustsAddr(ip netip.Addr) bool {
	ip = clean(ip)
	for _, pfx := range p.trusted {
		if pfx.Contains(ip) {
			return true
		}
	}
	return false
}

// check applies the trust rules to what proxyproto.Read returned for a
// connection from remote: the client the header names (the zero AddrPort:
// keep remote), or why the connection is refused.
func (p *ProxyProtocol) check(remote string, trusted bool, hdr *proxyproto.Header, err error) (netip.AddrPort, error) {
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	absent := errors.Is(err, proxyproto.ErrNoProxyProtocol)
	switch {
	case !trusted && (absent || timedOut):
		return netip.AddrPort{}, nil // a direct client, as expected
	case !trusted:
		return netip.AddrPort{}, p.untrusted(remote)
	case timedOut:
		return netip.AddrPort{}, fmt.Errorf("access: no PROXY header from trusted %s within %s", remote, p.timeout)
	case absent:
		return netip.AddrPort{}, fmt.Errorf("access: no PROXY header from trusted %s: %w", remote, err)
	case err != nil:
		return netip.AddrPort{}, fmt.Errorf("access: bad PROXY header from trusted %s: %w", remote, err)
	}
	if src, _, ok := hdr.TCPAddrs(); ok && !hdr.Command.IsLocal() {
		ap := src.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	return netip.AddrPort{}, nil
}

// untrusted is the refusal of a PROXY header from a peer not trusted to
// send one.
func (p *ProxyProtocol) untrusted(remote string) error {
	return fmt.Errorf("access: PROXY header from untrusted %s refused", remote)
}

// proxyConn reads the PROXY header, if any, before the first byte of data.
// Reads go through br, which holds what the header check read ahead.
type proxyConn struct {
	net.Conn
	br      *bufio.Reader
	p       *ProxyProtocol
	trusted bool

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
	c.hdrDeadline = time.Now().Add(c.p.timeout)
	c.applyDeadlineLocked()
	c.mu.Unlock()

	hdr, err := proxyproto.Read(c.br)

	c.mu.Lock()
	c.hdrDeadline = time.Time{}
	restoreErr := c.applyDeadlineLocked()
	c.mu.Unlock()

	src, err := c.p.check(c.remote.String(), c.trusted, hdr, err)
	if err != nil {
		return err
	}
	if src.IsValid() {
		c.remote = net.TCPAddrFromAddrPort(src)
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
