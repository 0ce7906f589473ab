package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pion/logging"

	"wsbridge/access"
	"wsbridge/metrics"
	"wsbridge/tlsconf"
	"wsbridge/tokens"
	"wsbridge/tunnel"
)

// routing is what the routing and access options add to the tunnel: where
// each session goes (token plugins, --unix-target), who may connect (auth
// plugins, --allow-origin, limits), who the client really is
// (--trusted-proxy) and where the bridge may dial (--allow-target).
type routing struct {
	source     tokens.Source // nil without a token plugin
	sourceName string        // the plugin's name, for metrics
	auth       access.Authenticator
	clientIP   *access.ClientIP
	limiter    *access.Limiter
	allow      *access.AllowList
	tls        *tlsconf.Provider  // nil without TLS
	toTarget   *tlsconf.TargetTLS // nil without --ssl-target
	logFile    *logFile           // nil without --log-file
	metrics    *metrics.Metrics   // nil without --metrics-listen
	log        logging.LeveledLogger
}

// newRouting builds the routing from the settings; close releases it.
func newRouting(s *settings, lf logging.LoggerFactory) (*routing, error) {
	rt := &routing{log: lf.NewLogger("main")}
	var err error
	if rt.tls, err = newTLS(s, lf); err != nil {
		return nil, err
	}
	if rt.toTarget, err = newTargetTLS(s, lf); err != nil {
		rt.close()
		return nil, err
	}
	if s.TokenPlugin != "" {
		tokens.SetRedisLogger(lf) // go-redis logs process-wide; main owns the process
		rt.sourceName = strings.TrimPrefix(s.TokenPlugin, "websockify.token_plugins.")
		rt.source, err = tokens.New(s.TokenPlugin, s.TokenSource, tokens.Options{LoggerFactory: lf})
		if err != nil {
			return nil, fmt.Errorf("wsbridge: --token-plugin %s: %w", s.TokenPlugin, err)
		}
	}
	var auths []access.Authenticator
	if s.AuthPlugin != "" {
		a, err := access.NewAuth(s.AuthPlugin, s.AuthSource)
		if err != nil {
			rt.close()
			return nil, fmt.Errorf("wsbridge: --auth-plugin %s: %w", s.AuthPlugin, err)
		}
		auths = append(auths, a)
	}
	if origins := s.AllowOrigin.Values(); len(origins) > 0 {
		auths = append(auths, access.AllowOrigins(origins))
	}
	if len(auths) > 0 {
		rt.auth = access.All(auths...)
	}
	if proxies := s.TrustedProxy.Values(); len(proxies) > 0 {
		if rt.clientIP, err = access.NewClientIP(proxies); err != nil {
			rt.close()
			return nil, fmt.Errorf("wsbridge: --trusted-proxy: %w", err)
		}
	}
	if targets := s.AllowTarget.Values(); len(targets) > 0 {
		if rt.allow, err = access.ParseAllowList(targets); err != nil {
			rt.close()
			return nil, fmt.Errorf("wsbridge: --allow-target: %w", err)
		}
	}
	if s.MaxConnections > 0 || s.MaxConnectionsPerIP > 0 || s.HandshakeRate > 0 {
		rt.limiter = access.NewLimiter(access.Limits{
			MaxConns:      s.MaxConnections,
			MaxConnsPerIP: s.MaxConnectionsPerIP,
			RatePerIP:     s.HandshakeRate,
			Burst:         max(1, int(2*s.HandshakeRate)),
		})
	}
	return rt, nil
}

// reload reopens --log-file and re-reads certificates, file-based token
// sources and key files (SIGHUP).
func (rt *routing) reload() {
	if rt.logFile != nil {
		if err := rt.logFile.reopen(); err != nil {
			rt.log.Warnf("reopen the log: %v", err)
		} else {
			rt.log.Info("reopened the log file")
		}
	}
	if rt.tls != nil {
		if err := rt.tls.Reload(); err != nil {
			rt.log.Warnf("reload certificates: %v", err)
		} else {
			rt.log.Info("reloaded the certificates")
		}
	}
	r, ok := rt.source.(tokens.Reloader)
	if !ok {
		return
	}
	if err := r.Reload(); err != nil {
		rt.log.Warnf("reload: %v", err)
		return
	}
	rt.log.Info("reloaded the token source")
}

// notifyHUP starts catching SIGHUP, for watchHUP. It is called before the
// listener opens, on serve's goroutine: registered only inside watchHUP's
// goroutine, a SIGHUP soon after start-up (a reload by systemd, a script
// that waits for the port) could arrive first and kill the process.
func notifyHUP() chan os.Signal {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup
}

// watchHUP reloads on every SIGHUP from hup (see notifyHUP) until ctx
// ends, then stops catching it; the caller waits for it.
func (rt *routing) watchHUP(ctx context.Context, hup chan os.Signal) {
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			rt.reload()
		}
	}
}

// close stops the token source's reloads and connections.
func (rt *routing) close() {
	if rt.tls != nil {
		rt.tls.Close()
	}
	if rt.source != nil {
		if err := rt.source.Close(); err != nil {
			rt.log.Warnf("closing the token source: %v", err)
		}
	}
}

// apply sets the tunnel's hooks.
func (rt *routing) apply(s *settings, cfg *tunnel.Config) {
	switch {
	case rt.source != nil:
		hostToken := s.HostToken
		cfg.Resolve = func(ctx context.Context, r *http.Request) (tunnel.Route, error) {
			return rt.resolve(ctx, r, hostToken)
		}
	case s.UnixTarget != "":
		route := tunnel.Route{Network: "unix", Addr: s.UnixTarget}
		cfg.Resolve = func(context.Context, *http.Request) (tunnel.Route, error) { return route, nil }
	}
	if rt.auth != nil {
		cfg.Authorize = rt.auth.Authenticate
	}
	if rt.clientIP != nil {
		cfg.ClientAddr = func(r *http.Request) string {
			if ip := rt.clientIP.Real(r); ip.IsValid() {
				return ip.String()
			}
			// No address known (a unix-socket peer not trusted, or with
			// no usable header): "" keeps the peer's own name, where the
			// zero Addr would print as "invalid IP".
			return ""
		}
	}
	if rt.limiter != nil {
		cfg.Admit = func(ip string) (func(), error) {
			// A unix-socket peer ("@" in RemoteAddr) has no IP address: the
			// zero Addr, which the limiter counts towards --max-connections
			// only, rather than a refusal of every such client.
			addr, err := netip.ParseAddr(ip)
			if err != nil {
				addr = netip.Addr{}
			}
			return rt.limiter.Admit(addr)
		}
	}
	if rt.allow != nil {
		// The tunnel checks each address it dials, on the event loop too,
		// and before --ssl-target's handshake.
		cfg.AllowTarget = func(ap netip.AddrPort) bool { return rt.allow.Allowed(ap.Addr(), ap.Port()) }
	}
	if rt.toTarget != nil {
		cfg.WrapDial = rt.toTarget.Wrap // the tunnel bounds each dial by --dial-timeout
	}
}

// resolve looks the request's token up. The client is told only that the
// token is missing, unknown or cannot be looked up now; the log says why.
func (rt *routing) resolve(ctx context.Context, r *http.Request, hostToken bool) (tunnel.Route, error) {
	tok, ok := tokens.FromRequest(r, hostToken)
	if !ok {
		return tunnel.Route{}, &tunnel.HandshakeError{Status: http.StatusNotFound, Msg: "no token in the request"}
	}
	t, err := rt.source.Lookup(ctx, tok)
	if rt.metrics != nil {
		result := metrics.LookupFound
		switch {
		case errors.Is(err, tokens.ErrNotFound):
			result = metrics.LookupNotFound
		case err != nil:
			result = metrics.LookupError
		}
		rt.metrics.TokenLookup(rt.sourceName, result)
	}
	switch {
	case errors.Is(err, tokens.ErrNotFound):
		return tunnel.Route{}, &tunnel.HandshakeError{Status: http.StatusNotFound, Msg: "unknown token"}
	case err != nil:
		rt.log.Warnf("token lookup: %v", err)
		return tunnel.Route{}, &tunnel.HandshakeError{Status: http.StatusServiceUnavailable, Msg: "token lookup failed; try again later"}
	}
	return tunnel.Route{Network: t.Network, Addr: t.Addr, Token: tok}, nil
}

// guard applies the auth plugin to the page and --web files (--web-auth).
func (rt *routing) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := rt.auth.Authenticate(r); err != nil {
			status, hdr := http.StatusForbidden, http.Header(nil)
			if d, ok := errors.AsType[*access.Denied](err); ok {
				status, hdr = d.Refusal()
			}
			for k, v := range hdr {
				w.Header()[k] = v
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// listen returns the listeners: those the service manager passed (socket
// activation, --inetd), else one it opens, TCP or a unix socket
// (--unix-listen); and with --proxy-protocol, the rules to read PROXY
// headers from trusted proxies with, which the caller applies.
func listen(s *settings, handshakeTimeout time.Duration) ([]net.Listener, *access.ProxyProtocol, error) {
	lns, err := inheritedListeners(s)
	if err != nil {
		return nil, nil, err
	}
	if lns == nil {
		ln, err := listenOwn(s)
		if err != nil {
			return nil, nil, err
		}
		lns = []net.Listener{ln}
	}
	if !s.ProxyProto {
		return lns, nil, nil
	}
	var trusted []netip.Prefix
	for _, p := range s.TrustedProxy.Values() {
		if p == "unix" {
			// Trusts X-Forwarded-For on --unix-listen (access.NewClientIP);
			// PROXY headers are only ever taken from IP peers.
			continue
		}
		pfx, err := parsePrefix(p)
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			return nil, nil, usagef("wsbridge: --trusted-proxy %q: %w", p, err)
		}
		trusted = append(trusted, pfx)
	}
	return lns, access.NewProxyProtocol(trusted, handshakeTimeout), nil
}

// listenOwn opens the listening socket of the listen argument, or a unix
// socket (--unix-listen) that replaces a stale socket file and gets
// --unix-listen-mode.
func listenOwn(s *settings) (net.Listener, error) {
	if s.listenNetwork == "unix" {
		if fi, err := os.Lstat(s.listenAddr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(s.listenAddr) // a socket left by an earlier run
		}
	}
	ln, err := net.Listen(s.listenNetwork, s.listenAddr)
	if err != nil {
		return nil, fmt.Errorf("wsbridge: %w", err)
	}
	if s.listenNetwork == "unix" {
		if err := os.Chmod(s.listenAddr, s.unixMode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("wsbridge: --unix-listen-mode: %w", err)
		}
	}
	return ln, nil
}

// parsePrefix parses a CIDR or a bare address (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
