package access

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// expectOrigin is websockify's ExpectOrigin: the Origin header must be one
// of the listed strings exactly.
type expectOrigin []string

// newExpectOrigin builds ExpectOrigin from its space-separated source.
func newExpectOrigin(source string) (expectOrigin, error) {
	list, err := splitSource("ExpectOrigin", source)
	return expectOrigin(list), err
}

// Authenticate implements Authenticator: a missing Origin, or one not
// byte-for-byte in the list, gets 403 Invalid Origin, as in websockify.
func (e expectOrigin) Authenticate(r *http.Request) error {
	vals := r.Header.Values("Origin")
	if len(vals) != 1 || !slices.Contains(e, vals[0]) {
		return invalidOrigin()
	}
	return nil
}

// invalidOrigin is the refusal both Origin checks give.
func invalidOrigin() *Denied {
	return &Denied{Status: http.StatusForbidden, Msg: "Invalid Origin"}
}

// AllowOrigins returns the Authenticator behind --allow-origin, the guard
// against cross-site WebSocket hijacking (a page on another site opening a
// WebSocket to the bridge with the visitor's cookies or network position).
//
// Each entry is an origin, scheme://host[:port]. Matching is exact after
// normalising both sides: scheme and host are compared case-insensitively,
// a default port (80 for http and ws, 443 for https and wss) equals no
// port, and a trailing "/" on an entry is ignored. Entries that do not
// parse as an origin, such as "null" (sent by sandboxed frames and file://
// pages), match only byte-for-byte.
//
// A request without an Origin header is allowed: cross-site hijacking needs
// a browser, and browsers always send Origin on a WebSocket handshake, so
// a missing Origin means a non-browser client (websocat, a script), which
// could send any Origin it liked anyway. Several Origin headers are
// refused. A request whose Origin is not listed gets 403 Invalid Origin.
//
// An empty list allows no browser at all (only clients that send no
// Origin); call AllowOrigins only when origins were configured.
func AllowOrigins(origins []string) Authenticator {
	a := make(allowOrigins, 0, len(origins))
	for _, o := range origins {
		a = append(a, normalizeOrigin(strings.TrimSuffix(strings.TrimSpace(o), "/")))
	}
	return a
}

// allowOrigins holds normalised origins.
type allowOrigins []string

// Authenticate implements Authenticator.
func (a allowOrigins) Authenticate(r *http.Request) error {
	vals := r.Header.Values("Origin")
	switch {
	case len(vals) == 0:
		return nil // not a browser; see AllowOrigins
	case len(vals) > 1 || !slices.Contains(a, normalizeOrigin(vals[0])):
		return invalidOrigin()
	}
	return nil
}

// normalizeOrigin lower-cases scheme and host and drops a default port. A
// value that is not scheme://host[:port] is returned unchanged, so it can
// only match itself.
func normalizeOrigin(o string) string {
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return o
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == defaultPort(scheme) {
		port = ""
	}
	if strings.Contains(host, ":") || port != "" {
		if port == "" {
			return scheme + "://[" + host + "]"
		}
		return scheme + "://" + net.JoinHostPort(host, port)
	}
	return scheme + "://" + host
}

// defaultPort is the port a scheme implies.
func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}
