package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// ProxyFromEnvironment returns a Dialer.Proxy reading HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY (or their lower-case forms) through getenv, as
// net/http does: wss:// URLs use HTTPS_PROXY, ws:// URLs HTTP_PROXY.
// Like net/http it never proxies localhost or loopback addresses.
func ProxyFromEnvironment(getenv func(string) string) func(*url.URL) (*url.URL, error) {
	either := func(a, b string) string {
		if v := getenv(a); v != "" {
			return v
		}
		return getenv(b)
	}
	cfg := &httpproxy.Config{
		HTTPProxy:  either("HTTP_PROXY", "http_proxy"),
		HTTPSProxy: either("HTTPS_PROXY", "https_proxy"),
		NoProxy:    either("NO_PROXY", "no_proxy"),
	}
	return cfg.ProxyFunc()
}

// dialProxy opens a tunnel to addr through an HTTP or HTTPS proxy with
// CONNECT (RFC 9110 §9.3.6).
func (d *Dialer) dialProxy(ctx context.Context, proxy *url.URL, addr string) (net.Conn, error) {
	paddr := proxy.Host
	if proxy.Port() == "" {
		port := "80"
		if proxy.Scheme == "https" {
			port = "443"
		}
		paddr = net.JoinHostPort(proxy.Hostname(), port)
	}
	nc, err := d.netDialer().DialContext(ctx, "tcp", paddr)
	if err != nil {
		return nil, fmt.Errorf("client: dial proxy %s: %w", paddr, err)
	}
	switch proxy.Scheme {
	case "http", "":
	case "https":
		tc := tls.Client(nc, &tls.Config{ServerName: proxy.Hostname()})
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("client: TLS handshake with proxy %s: %w", paddr, err)
		}
		nc = tc
	default:
		nc.Close()
		return nil, fmt.Errorf("client: proxy %s: scheme %q not supported (http or https)", paddr, proxy.Scheme)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	c, err := connect(nc, proxy, paddr, addr)
	if !stop() || err != nil {
		nc.Close()
		if err == nil {
			err = fmt.Errorf("client: CONNECT %s via %s: %w", addr, paddr, ctx.Err())
		}
		return nil, err
	}
	return c, nil
}

// connect sends CONNECT addr on nc and reads the proxy's answer.
func connect(nc net.Conn, proxy *url.URL, paddr, addr string) (net.Conn, error) {
	req := &http.Request{
		Method: http.MethodConnect,
		URL:    &url.URL{Opaque: addr},
		Host:   addr,
		Header: http.Header{},
	}
	if u := proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	if err := req.Write(nc); err != nil {
		return nil, fmt.Errorf("client: CONNECT %s via %s: %w", addr, paddr, err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("client: CONNECT %s via %s: %w", addr, paddr, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("client: CONNECT %s via %s: proxy answered %s", addr, paddr, resp.Status)
	}
	if br.Buffered() > 0 {
		return &bufferedConn{Conn: nc, br: br}, nil
	}
	return nc, nil
}

// bufferedConn is a conn whose first bytes were read into br already.
type bufferedConn struct {
	net.Conn
	br *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.br.Read(p) }
