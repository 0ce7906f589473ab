package client

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"wsbridge/frames"

	"wsbridge/frames/deflate"
)

// handshake sends the upgrade request on nc and checks the answer
// (RFC 6455 §4.1): status 101, Upgrade and Connection, the
// Sec-WebSocket-Accept for our key, and a subprotocol we offered.
func (d *Dialer) handshake(ctx context.Context, nc net.Conn, wsURL, hu *url.URL, addr string) (*Conn, error) {
	var raw [16]byte
	_, _ = crand.Read(raw[:]) // never fails (crypto/rand, Go 1.24+)
	key := frames.NewKey(raw)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hu.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	for k, vs := range d.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
		req.Header.Del("Host")
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", key)
	req.Header.Set("Sec-WebSocket-Version", "13")
	offered := d.subprotocols()
	if len(offered) > 0 {
		req.Header.Set("Sec-WebSocket-Protocol", strings.Join(offered, ", "))
	}
	if d.Deflate != nil {
		req.Header.Set("Sec-WebSocket-Extensions", d.Deflate.Offer())
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "wsbridge-client")
	}
	if err := req.Write(nc); err != nil {
		return nil, fmt.Errorf("client: send handshake to %s: %w", addr, err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, fmt.Errorf("client: read handshake from %s: %w", addr, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		return nil, &HandshakeError{Status: resp.Status, Body: firstLine(resp.Body)}
	}
	// §4.1: any other Upgrade, Connection or Accept value fails the
	// connection.
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return nil, fmt.Errorf("client: handshake with %s: Upgrade %q, want websocket", addr, resp.Header.Get("Upgrade"))
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		return nil, fmt.Errorf("client: handshake with %s: Connection %q, want Upgrade", addr, resp.Header.Get("Connection"))
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), frames.AcceptKey(key); got != want {
		return nil, fmt.Errorf("client: handshake with %s: Sec-WebSocket-Accept %q, want %q", addr, got, want)
	}
	// §4.1: a subprotocol the client did not offer fails the connection.
	proto := resp.Header.Get("Sec-WebSocket-Protocol")
	if proto != "" && !slices.Contains(offered, proto) {
		return nil, fmt.Errorf("client: handshake with %s: server chose subprotocol %q, offered %q", addr, proto, offered)
	}
	// §9.1: an extension the client did not offer, or parameters it did
	// not allow, fail the connection.
	exts := resp.Header.Values("Sec-WebSocket-Extensions")
	if d.Deflate == nil {
		if len(exts) > 0 {
			return nil, fmt.Errorf("client: handshake with %s: server chose extension %q, offered none", addr, strings.Join(exts, ", "))
		}
		return newConn(nc, br, proto, wsURL.Redacted(), d.Heartbeat, nil, deflate.Params{}), nil
	}
	params, ok, err := d.Deflate.Accept(exts)
	if err != nil {
		return nil, fmt.Errorf("client: handshake with %s: %w", addr, err)
	}
	ext := d.Deflate
	if !ok {
		ext = nil // the server declined: plain frames
	}
	return newConn(nc, br, proto, wsURL.Redacted(), d.Heartbeat, ext, params), nil
}

// firstLine returns the first non-empty line of a refusal's body, cut to
// 200 bytes.
func firstLine(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 4096))
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > 200 {
				line = line[:200]
			}
			return line
		}
	}
	return ""
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
