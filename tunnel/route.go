package tunnel

import (
	"context"
	"errors"
	"net"
	"net/http"
)

// Route is where one session goes.
type Route struct {
	Network string // "tcp" or "unix"
	Addr    string // host:port, or a unix socket path
	Token   string // the token that chose it, if any (logged redacted)
}

// Refusal is implemented by errors that say how a refused upgrade is
// answered: the status and any headers (WWW-Authenticate, Retry-After).
// Errors from Config.Resolve, Authorize, Admit and Dial that implement it
// are answered that way, before any 101.
type Refusal interface {
	error
	Refusal() (status int, header http.Header)
}

// Refusal implements the Refusal interface.
func (e *HandshakeError) Refusal() (int, http.Header) { return e.Status, e.Header }

// route resolves r's target: Config.Resolve, or the fixed Target.
func (s *Server) route(ctx context.Context, r *http.Request) (Route, error) {
	if s.cfg.Resolve == nil {
		return Route{Network: "tcp", Addr: s.cfg.Target}, nil
	}
	rt, err := s.cfg.Resolve(ctx, r)
	if err != nil {
		return rt, err
	}
	if rt.Network == "" {
		rt.Network = "tcp"
	}
	return rt, nil
}

// clientAddr returns the client's address for the log (the TCP peer's
// host:port, or "REAL via PEER" when Config.ClientAddr names another) and
// its IP for Admit.
func (s *Server) clientAddr(r *http.Request) (name, ip string) {
	name, ip = r.RemoteAddr, r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = host
	}
	if s.cfg.ClientAddr != nil {
		if real := s.cfg.ClientAddr(r); real != "" && real != ip {
			return real + " via " + r.RemoteAddr, real
		}
	}
	return name, ip
}

// refusal turns err into the answer for a refused upgrade: as err says if
// it is a Refusal, otherwise status fallback with err's text.
func refusal(err error, fallback int) *HandshakeError {
	if he, ok := errors.AsType[*HandshakeError](err); ok {
		return he // its own words only: the wrapping may name the target
	}
	if rf, ok := errors.AsType[Refusal](err); ok {
		status, h := rf.Refusal()
		return &HandshakeError{Status: status, Msg: err.Error(), Header: h}
	}
	return &HandshakeError{Status: fallback, Msg: err.Error()}
}

// redact shortens a token for the log: enough to tell tokens apart, not
// enough to use one.
func redact(token string) string {
	if token == "" {
		return ""
	}
	if len(token) <= 4 {
		return "…"
	}
	return token[:4] + "…"
}
