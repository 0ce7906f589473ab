package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/pion/logging"
	"golang.org/x/crypto/acme"
)

// maxPending bounds the connections accepted but not yet taken by Accept
// (being sniffed, in a TLS handshake, or waiting for the caller). When it
// is reached the listener stops accepting and the kernel backlog fills, as
// it would without sniffing. Each costs a goroutine and a descriptor.
const maxPending = 1024

// Listener wraps ln so that TLS and plain HTTP share its port, as in
// websockify: each accepted connection is classified by its first byte.
// 0x16 (a TLS handshake record) or 0x80 (an SSLv2-style ClientHello) means
// TLS: the handshake is done with TLSConfig() and Accept returns the
// *tls.Conn, ready, so http.Server fills in Request.TLS. Anything else is
// plain: Accept returns the connection as it came (a *net.TCPConn stays
// unwrapped, keeping its syscall.Conn, since the byte was only peeked with
// MSG_PEEK; other conns are wrapped to replay the byte). With SSLOnly a
// plain connection is closed without a reply, as websockify does. A
// TLS-ALPN-01 check from an ACME CA ends after its handshake. (Go does not
// speak SSLv2-style hellos, so those fail the handshake; they are sniffed
// as TLS only so that they are never answered as HTTP.)
//
// Classification runs on a goroutine per connection, so a client that
// connects and sends nothing holds up no one; handshakeTimeout (zero or
// less: DefaultHandshakeTimeout) bounds the first byte plus the handshake,
// after which the connection is closed. Failures are logged at Debug
// (PION_LOG_DEBUG=tlsconf). The conns Accept returns have no deadline set.
//
// Close closes ln and every connection not yet returned by Accept, and
// waits for the goroutines. One caveat: a handshake for an ACME domain
// with no certificate yet waits for the issuance (autocert allows up to
// five minutes), and Close waits with it.
func (p *Provider) Listener(ln net.Listener, handshakeTimeout time.Duration) net.Listener {
	if handshakeTimeout <= 0 {
		handshakeTimeout = DefaultHandshakeTimeout
	}
	l := &sniffListener{
		inner:      ln,
		conf:       p.TLSConfig(),
		sslOnly:    p.sslOnly,
		timeout:    handshakeTimeout,
		log:        p.log,
		ready:      make(chan net.Conn),
		errc:       make(chan error),
		acceptDone: make(chan struct{}),
		done:       make(chan struct{}),
		slots:      make(chan struct{}, maxPending),
		sniffing:   map[net.Conn]struct{}{},
	}
	l.wg.Go(l.acceptLoop) // ends when ln fails with net.ErrClosed or Close is called
	return l
}

// sniffListener is the listener Listener returns.
type sniffListener struct {
	inner   net.Listener
	conf    *tls.Config
	sslOnly bool
	timeout time.Duration
	log     logging.LeveledLogger

	ready      chan net.Conn // classified conns, handed to Accept
	errc       chan error    // accept errors, handed to Accept
	acceptDone chan struct{} // closed when acceptLoop stops; then acceptErr is set
	acceptErr  error
	done       chan struct{} // closed by Close
	slots      chan struct{} // one token per pending conn
	wg         sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	sniffing map[net.Conn]struct{} // conns being classified, for Close to interrupt
}

var _ net.Listener = (*sniffListener)(nil)

// errPlainRefused and errChallengeDone end a connection without it being
// an error worth more than a Debug line.
var (
	errPlainRefused  = errors.New("plain connection refused (--ssl-only)")
	errChallengeDone = errors.New("ACME TLS-ALPN-01 check done")
)

// Accept returns the next classified connection.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errc:
		return nil, err
	case <-l.acceptDone:
		return nil, l.acceptErr
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Addr returns the wrapped listener's address.
func (l *sniffListener) Addr() net.Addr { return l.inner.Addr() }

// Close closes the wrapped listener and all pending connections, then
// waits for every goroutine of the listener.
func (l *sniffListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	err := l.inner.Close()
	for c := range l.sniffing {
		c.SetDeadline(time.Unix(1, 0)) // wakes its classifier, which closes it
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}

// acceptLoop accepts while fewer than maxPending conns are pending and
// starts a classifier for each. Accept errors are handed to Accept one at
// a time (so a caller's back-off paces retries); net.ErrClosed ends it.
func (l *sniffListener) acceptLoop() {
	defer close(l.acceptDone)
	for {
		select {
		case l.slots <- struct{}{}:
		case <-l.done:
			l.acceptErr = net.ErrClosed
			return
		}
		c, err := l.inner.Accept()
		if err != nil {
			<-l.slots
			if errors.Is(err, net.ErrClosed) {
				l.acceptErr = err
				return
			}
			select {
			case l.errc <- err:
			case <-l.done:
				l.acceptErr = net.ErrClosed
				return
			}
			continue
		}
		l.wg.Go(func() { l.serve(c) }) // one classifier; ends within the timeout, or at Close
	}
}

// serve classifies c and hands it to Accept, or closes it.
func (l *sniffListener) serve(c net.Conn) {
	defer func() { <-l.slots }()
	c.SetDeadline(time.Now().Add(l.timeout))
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		c.Close()
		return
	}
	l.sniffing[c] = struct{}{}
	l.mu.Unlock()

	out, err := l.classify(c)

	l.mu.Lock()
	delete(l.sniffing, c)
	if err == nil && l.closed {
		err = net.ErrClosed
	}
	l.mu.Unlock()
	if err != nil {
		l.log.Debugf("tlsconf: %s: %v", c.RemoteAddr(), err)
		c.Close()
		return
	}
	out.SetDeadline(time.Time{})
	select {
	case l.ready <- out:
	case <-l.done:
		out.Close()
	}
}

// classify reads (or peeks) the first byte and does the TLS handshake
// when it starts one. The deadline set by serve bounds it.
func (l *sniffListener) classify(c net.Conn) (net.Conn, error) {
	first, peeked, err := peekByte(c)
	if err != nil {
		return nil, fmt.Errorf("first byte: %w", err)
	}
	conn := c
	if !peeked {
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return nil, fmt.Errorf("first byte: %w", err)
		}
		first = b[0]
		conn = &replayConn{Conn: c, first: first, pending: true}
	}
	if first != 0x16 && first != 0x80 {
		if l.sslOnly {
			return nil, errPlainRefused
		}
		return conn, nil
	}
	tc := tls.Server(conn, l.conf)
	if err := tc.Handshake(); err != nil {
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	if tc.ConnectionState().NegotiatedProtocol == acme.ALPNProto {
		return nil, errChallengeDone
	}
	return tc, nil
}

// replayConn gives back the byte read to classify a conn that cannot be
// peeked.
type replayConn struct {
	net.Conn
	first   byte
	pending bool
}

var _ net.Conn = (*replayConn)(nil)

// Read returns the replayed byte first.
func (c *replayConn) Read(b []byte) (int, error) {
	if c.pending && len(b) > 0 {
		b[0] = c.first
		c.pending = false
		return 1, nil
	}
	return c.Conn.Read(b)
}

// CloseWrite half-closes the wrapped conn if it can.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return fmt.Errorf("tlsconf: %T has no CloseWrite: %w", c.Conn, errors.ErrUnsupported)
}
