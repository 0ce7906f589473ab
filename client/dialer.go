package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"wsbridge/frames/deflate"
)

// Subprotocol is offered when Dialer.Subprotocols is nil: the binary
// framing that wsbridge and websockify speak.
const Subprotocol = "binary"

// DefaultTimeout bounds the TCP connection, the proxy's CONNECT, the TLS
// handshake and the WebSocket handshake together, when Dialer.Timeout is
// zero.
const DefaultTimeout = 30 * time.Second

// Dialer opens WebSocket tunnels. The zero value dials directly, offers
// the "binary" subprotocol, verifies TLS against the system roots and
// sends no heartbeat.
type Dialer struct {
	// Header holds extra request headers (Authorization, Cookie, Origin).
	// Nil adds none. Upgrade, Connection and Sec-WebSocket-* are set by
	// Dial and must not be given here.
	Header http.Header

	// Subprotocols are offered in Sec-WebSocket-Protocol, and the server's
	// choice must be one of them. Nil offers "binary"; an empty non-nil
	// slice offers none.
	Subprotocols []string

	// TLSConfig configures wss:// connections (RootCAs, Certificates for
	// mTLS, InsecureSkipVerify). Nil uses the system roots. ServerName
	// defaults to the URL's host.
	TLSConfig *tls.Config

	// Proxy returns the HTTP(S) proxy to CONNECT through for a target URL
	// (given with the scheme http or https for ws or wss), or nil for a
	// direct connection. Nil means direct; ProxyFromEnvironment reads
	// HTTPS_PROXY, HTTP_PROXY and NO_PROXY.
	Proxy func(*url.URL) (*url.URL, error)

	// Timeout bounds dialling and both handshakes. Zero means
	// DefaultTimeout; negative means no limit beyond the context's.
	Timeout time.Duration

	// Heartbeat is how often a Ping is sent on an established tunnel. A
	// tunnel with no frame from the server for two periods is dropped
	// (ErrDropped). Zero sends no pings and never gives up on a silent
	// server.
	Heartbeat time.Duration

	// Deflate, if not nil, offers permessage-deflate (RFC 7692) on its
	// terms; if the server agrees, input goes out compressed and the
	// server's compressed messages are inflated. Nil offers nothing.
	Deflate *deflate.Extension

	// NetDialer dials TCP, to the server or the proxy. Nil uses a
	// net.Dialer with a 30 s keepalive.
	NetDialer *net.Dialer
}

// Dial connects to rawURL (ws:// or wss://) and completes the WebSocket
// handshake. The Conn it returns is ready for Pipe.
func (d *Dialer) Dial(ctx context.Context, rawURL string) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	var httpScheme, port string
	switch u.Scheme {
	case "ws":
		httpScheme, port = "http", "80"
	case "wss":
		httpScheme, port = "https", "443"
	default:
		return nil, fmt.Errorf("client: URL %q: scheme must be ws or wss", rawURL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("client: URL %q has no host", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	if t := d.timeout(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	hu := *u
	hu.Scheme = httpScheme
	nc, err := d.connect(ctx, &hu, addr)
	if err != nil {
		return nil, err
	}
	// Blocking handshakes end when ctx does: a past deadline fails them.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	c, err := d.handshake(ctx, nc, u, &hu, addr)
	if !stop() || err != nil {
		nc.Close()
		if err == nil {
			err = fmt.Errorf("client: handshake with %s: %w", addr, ctx.Err())
		}
		return nil, err
	}
	return c, nil
}

// connect opens the byte stream to the server: TCP, maybe a CONNECT
// tunnel, maybe TLS.
func (d *Dialer) connect(ctx context.Context, hu *url.URL, addr string) (net.Conn, error) {
	var proxy *url.URL
	if d.Proxy != nil {
		p, err := d.Proxy(hu)
		if err != nil {
			return nil, fmt.Errorf("client: proxy for %s: %w", addr, err)
		}
		proxy = p
	}
	var nc net.Conn
	var err error
	if proxy != nil {
		nc, err = d.dialProxy(ctx, proxy, addr)
	} else {
		nc, err = d.netDialer().DialContext(ctx, "tcp", addr)
		if err != nil {
			err = fmt.Errorf("client: dial %s: %w", addr, err)
		}
	}
	if err != nil {
		return nil, err
	}
	if hu.Scheme != "https" {
		return nc, nil
	}
	cfg := &tls.Config{}
	if d.TLSConfig != nil {
		cfg = d.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = hu.Hostname()
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"http/1.1"} // never h2: the upgrade is HTTP/1.1
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("client: TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

func (d *Dialer) timeout() time.Duration {
	if d.Timeout == 0 {
		return DefaultTimeout
	}
	return d.Timeout
}

func (d *Dialer) netDialer() *net.Dialer {
	if d.NetDialer != nil {
		return d.NetDialer
	}
	return &net.Dialer{KeepAlive: 30 * time.Second}
}

func (d *Dialer) subprotocols() []string {
	if d.Subprotocols == nil {
		return []string{Subprotocol}
	}
	return d.Subprotocols
}
