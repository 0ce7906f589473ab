package access

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP finds the real client address of a request that may have come
// through reverse proxies (--trusted-proxy). Only proxies in the trusted
// set are believed; a nil *ClientIP trusts none.
type ClientIP struct {
	trusted []netip.Prefix
	// trustUnix believes headers on connections that have no IP address:
	// a unix-socket listener behind a local proxy.
	trustUnix bool
}

// NewClientIP builds a ClientIP trusting the given proxies: each a CIDR
// ("10.0.0.0/8"), a bare IP (a single address), or the word "unix" for
// connections on a unix-socket listener (which have no IP address and are
// otherwise never trusted). An empty list trusts no one, so headers are
// always ignored. A bad entry is an error naming it.
func NewClientIP(trusted []string) (*ClientIP, error) {
	c := &ClientIP{}
	for _, t := range trusted {
		t = strings.TrimSpace(t)
		if t == "unix" {
			c.trustUnix = true
			continue
		}
		p, err := parsePrefix(t)
		if err != nil {
			return nil, fmt.Errorf("access: --trusted-proxy %q: %w", t, err)
		}
		c.trusted = append(c.trusted, p)
	}
	return c, nil
}

// trusts reports whether ip is a trusted proxy.
func (c *ClientIP) trusts(ip netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Real returns the client's address for r, without port or zone and with
// IPv4-mapped IPv6 unmapped.
//
// It starts from r.RemoteAddr, the peer that actually connected. If that
// peer is not a trusted proxy, forwarding headers are ignored entirely, so
// a direct client cannot choose its address. If it is trusted, Real walks
// the forwarded-for chain from the right (the hop the trusted proxy itself
// appended) leftwards, passing over trusted proxies; the first untrusted
// address is the client. If every hop is trusted, the leftmost is.
//
// The chain is X-Forwarded-For (every header line, comma lists, ports and
// brackets tolerated) when the request has one, and otherwise RFC 7239
// Forwarded's for= parameters (quoted strings, bracketed IPv6 with optional
// port). X-Forwarded-For wins when both are present because that is the
// header nginx, HAProxy, Caddy, Traefik and the cloud balancers maintain by
// default; the header the proxy does not maintain passes through from the
// client untouched, so the trusted proxy must append to X-Forwarded-For
// (nginx: proxy_add_x_forwarded_for; HAProxy: option forwardfor), or strip
// any X-Forwarded-For it gets if it writes only Forwarded.
//
// A hop that is "unknown", obfuscated ("_hidden"), missing or unparseable
// ends the walk: what lies left of it cannot be checked, so the answer is
// the nearest trusted proxy, the last address that could be vouched for.
//
// The zero netip.Addr means no address is known: a unix-socket peer not
// trusted ("unix" not in the list), or trusted with no usable header.
func (c *ClientIP) Real(r *http.Request) netip.Addr {
	remote, isIP := parseRemoteAddr(r.RemoteAddr)
	if c == nil || (isIP && !c.trusts(remote)) || (!isIP && !c.trustUnix) {
		return remote
	}
	hops := parseXForwardedFor(r.Header.Values("X-Forwarded-For"))
	if len(hops) == 0 {
		hops = parseForwarded(r.Header.Values("Forwarded"))
	}
	client := remote
	for i := len(hops) - 1; i >= 0; i-- {
		if !hops[i].IsValid() {
			return client
		}
		client = hops[i]
		if !c.trusts(client) {
			return client
		}
	}
	return client
}

// parseRemoteAddr parses http.Request.RemoteAddr ("ip:port", or a bare ip
// as some test servers and wrappers set). ok is false for a non-IP peer.
func parseRemoteAddr(s string) (netip.Addr, bool) {
	ip := parseNode(s)
	return ip, ip.IsValid()
}

// parseNode parses one address as forwarding headers carry it: "1.2.3.4",
// "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:80". The
// result is unmapped and without zone; anything else is the zero Addr.
func parseNode(s string) netip.Addr {
	if ip, err := netip.ParseAddr(s); err == nil {
		return clean(ip)
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return clean(ap.Addr())
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		if inner, ok := strings.CutSuffix(inner, "]"); ok {
			if ip, err := netip.ParseAddr(inner); err == nil {
				return clean(ip)
			}
		}
	}
	return netip.Addr{}
}

// clean unmaps an address and drops its zone.
func clean(ip netip.Addr) netip.Addr {
	return ip.Unmap().WithZone("")
}

// parseXForwardedFor returns the hops of X-Forwarded-For header lines, in
// order; empty list elements are skipped, unparseable ones are zero Addrs.
func parseXForwardedFor(values []string) []netip.Addr {
	var hops []netip.Addr
	for _, v := range values {
		for elem := range strings.SplitSeq(v, ",") {
			if elem = strings.TrimSpace(elem); elem != "" {
				hops = append(hops, parseNode(elem))
			}
		}
	}
	return hops
}
