package tunnel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pion/logging"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
)

// Server bridges WebSocket upgrades to TCP connections. It is an
// http.Handler: upgrades are bridged, everything else goes to
// Config.Fallback. Hijacked connections are tracked by the Server itself
// (http.Server.Shutdown ignores them), so Shutdown can close each session
// with 1001 and wait for it.
type Server struct {
	cfg     Config
	log     logging.LeveledLogger
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	bufs    sync.Pool // *[]byte of MaxHeaderLen+MaxFrameSize: payload copies
	pipes   sync.Pool // *pipe, empty: the down path's splice pipes (Linux)
	small   sync.Pool // *[]byte of smallBufSize: frame headers, small messages
	large   sync.Pool // *[]byte of upBufSize: payload gathered for the target
	traffic *trafficWriter
	eng     *engine // nil: every session runs on goroutines

	// lookupIP resolves a Target's host name for the event loop's dials:
	// net.DefaultResolver, which the default dial uses too (tests replace it).
	lookupIP func(ctx context.Context, network, host string) ([]netip.Addr, error)

	mu        sync.Mutex
	sessions  map[*pair]struct{}
	refusing  map[net.Conn]struct{} // hijacked, being sent a Close without a session
	closing   bool                  // new upgrades are refused (Shutdown or Drain)
	goingAway bool                  // Shutdown: sessions are sent Close 1001
	forced    bool                  // Shutdown or Drain gave up waiting and closed everything
	force     context.Context       // done when forced is set: cancels dials in progress
	forceStop context.CancelFunc    // ends force
	wg        sync.WaitGroup        // one per upgrade that passed the closing check, until its handler returns
	started   int64                 // sessions registered, ever
	endedUp   int64                 // bytes of unregistered sessions, client→target
	endedDown int64                 // and target→client
}

// New checks cfg, fills in defaults and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Target == "" && cfg.Dial == nil && cfg.Resolve == nil {
		return nil, errors.New("tunnel: no target")
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	if cfg.MaxFrameSize <= 0 {
		cfg.MaxFrameSize = DefaultMaxFrameSize
	}
	if cfg.LoggerFactory == nil {
		cfg.LoggerFactory = logging.NewDefaultLoggerFactory()
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.LoggerFactory.NewLogger("tunnel"),
		sessions: make(map[*pair]struct{}),
		refusing: make(map[net.Conn]struct{}),
		dial:     cfg.Dial,
		lookupIP: net.DefaultResolver.LookupNetIP,
	}
	s.force, s.forceStop = context.WithCancel(context.Background())
	if s.dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		if cfg.AllowTarget != nil {
			d.Control = s.controlTarget
		}
		s.dial = d.DialContext
	}
	if cfg.WrapDial != nil {
		s.dial = cfg.WrapDial(s.dial)
	}
	size := frames.MaxHeaderLen + cfg.MaxFrameSize
	s.bufs.New = func() any { b := make([]byte, size); return &b }
	s.small.New = func() any { b := make([]byte, smallBufSize); return &b }
	s.large.New = func() any { b := make([]byte, upBufSize); return &b }
	if cfg.Traffic != nil {
		s.traffic = &trafficWriter{w: cfg.Traffic}
	}
	s.eng = newEngine(s)
	return s, nil
}

// ServeHTTP upgrades WebSocket requests and bridges them; other requests go
// to Config.Fallback. The steps, each of which can refuse with an HTTP
// status before any 101: the RFC 6455 checks, Admit (limits), Authorize,
// Resolve (the target), and the dial.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !IsUpgrade(r) {
		if s.cfg.Fallback != nil {
			s.cfg.Fallback.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "this is a WebSocket bridge: connect with a WebSocket client", http.StatusMethodNotAllowed)
		return
	}
	client, clientIP := s.clientAddr(r)
	hs, herr := CheckUpgrade(r, true)
	if herr != nil {
		s.log.Infof("%s: refused upgrade: %d %s", client, herr.Status, herr.Msg)
		s.observe(statusResult(herr.Status))
		Refuse(w, herr)
		return
	}
	release := func() {}
	if s.cfg.Admit != nil {
		rel, err := s.cfg.Admit(clientIP)
		if err != nil {
			s.refused(w, client, err, http.StatusServiceUnavailable)
			return
		}
		release = rel
	}
	handedOff := false
	defer func() {
		if !handedOff {
			release()
		}
	}()
	if s.cfg.Authorize != nil {
		if err := s.cfg.Authorize(r); err != nil {
			s.refused(w, client, err, http.StatusForbidden)
			return
		}
	}
	if !s.enter() {
		s.refused(w, client, &HandshakeError{Status: http.StatusServiceUnavailable, Msg: "server shutting down"}, 0)
		return
	}
	defer func() {
		if !handedOff {
			s.wg.Done() // Shutdown and Drain wait for every upgrade that got this far
		}
	}()
	rt, err := s.route(r.Context(), r)
	if err != nil {
		s.refused(w, client, err, http.StatusBadGateway)
		return
	}
	target, derr := s.dialTarget(r.Context(), rt)
	if _, ok := errors.AsType[Refusal](derr); ok {
		s.refused(w, client, derr, 0)
		return
	}
	var (
		params   deflate.Params
		compress bool
	)
	if s.cfg.Deflate != nil {
		params, hs.Extensions, compress = s.cfg.Deflate.Negotiate(r.Header.Values("Sec-WebSocket-Extensions"))
	}
	conn, br, err := Accept(w, hs)
	if err != nil {
		s.log.Warnf("%s: %v", client, err)
		s.observe(ResultFailed)
		if target != nil {
			target.Close()
		}
		return
	}
	if derr != nil {
		// The client gets the reason in a Close frame, where a browser can
		// show it; a failed handshake would only give it a bare 1006.
		s.log.Warnf("%s: %v", client, derr)
		s.observe(ResultDialFailed)
		s.refuseAfterUpgrade(conn, br, frames.CloseInternalError, reasonDialFailed)
		return
	}
	p := newPair(s, conn, target, client, redact(rt.Token))
	p.admitted = release
	event := s.eventEligible(conn, target, compress) && s.prepareEvent(p)
	if !event {
		p.initPumps(br, compress, params)
	}
	ok, goAway := s.register(p)
	if !ok {
		// Shutdown or Drain gave up waiting while the target was dialled.
		s.observe(ResultFailed)
		if event {
			p.ev.closeFDs()
		} else {
			conn.Close()
			target.Close()
		}
		return
	}
	handedOff = true
	s.observe(ResultAccepted)
	if event {
		// The loop runs the session from here; its end is reported by
		// sessionEnded, on the loop.
		s.sessionOpened(p)
		p.ev.start(br, goAway)
		return
	}
	// The session runs on a goroutine of its own, so that this handler
	// returns and net/http frees what it holds per connection (its
	// buffered writer, the response) for as long as the session lasts.
	go s.session(p, goAway) // owned by s: counted in s.wg, which Shutdown and Drain wait for
}

// refused logs and answers a refused upgrade (see refuse).
func (s *Server) refused(w http.ResponseWriter, client string, err error, fallback int) {
	he := refusal(err, fallback)
	s.log.Infof("%s: refused upgrade: %d %s", client, he.Status, he.Msg)
	s.observe(statusResult(he.Status))
	Refuse(w, he)
}

// Handshake results for Observer.Handshake besides refusals' statuses.
const (
	ResultAccepted   = "accepted"    // a session started
	ResultDialFailed = "dial_failed" // upgraded, then closed with 1011: the target is unreachable
	ResultFailed     = "failed"      // the 101 could not be written, or the server stopped meanwhile
)

func (s *Server) observe(result string) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.Handshake(result)
	}
}

// statusResult names a refusal's status for Observer.Handshake:
// "not_found", "too_many_requests"; a bounded set, fit for a metric label.
func statusResult(status int) string {
	text := http.StatusText(status)
	if text == "" {
		return strconv.Itoa(status)
	}
	return strings.ReplaceAll(strings.ToLower(strings.ReplaceAll(text, "-", " ")), " ", "_")
}

// session runs one bridged session on goroutines, from registration to
// teardown.
func (s *Server) session(p *pair, goAway bool) {
	s.sessionOpened(p)
	if s.cfg.Record != nil {
		p.rec = s.cfg.Record(p.num)
	}
	if goAway {
		p.goAway() // Shutdown began while the target was dialled
	}
	p.run()
	p.release()
	if p.rec != nil {
		if err := p.rec.Close(); err != nil {
			s.log.Warnf("session %d: recording: %v", p.num, err)
		}
	}
	s.sessionEnded(p)
}

// sessionOpened logs a new session and tells OnSessionStart.
func (s *Server) sessionOpened(p *pair) {
	st := p.stats()
	if st.Token != "" {
		s.log.Infof("session %s -> %s (token %s) opened", st.Client, st.Target, st.Token)
	} else {
		s.log.Infof("session %s -> %s opened", st.Client, st.Target)
	}
	if s.cfg.OnSessionStart != nil {
		s.cfg.OnSessionStart()
	}
}

// sessionEnded reports the end of a session whose connections are
// closed: the log line, OnSessionEnd, the registry, Admit's release and
// the count Shutdown waits on.
func (s *Server) sessionEnded(p *pair) {
	defer s.wg.Done()
	defer p.admitted()
	defer s.unregister(p)
	st := p.stats()
	s.log.Info(st.String())
	if s.cfg.OnSessionEnd != nil {
		s.cfg.OnSessionEnd(st)
	}
}

// dialTarget connects to the target within DialTimeout. A forced end of
// Shutdown or Drain cancels it.
func (s *Server) dialTarget(ctx context.Context, rt Route) (net.Conn, error) {
	var cancel context.CancelFunc
	if s.cfg.DialTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, s.cfg.DialTimeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	// No goroutine waits for the force: when it comes, the context package
	// runs cancel (which only cancels) on a goroutine of its own; stop
	// takes the call back once the dial is over.
	stop := context.AfterFunc(s.force, cancel)
	defer stop()
	start := time.Now()
	c, err := s.dial(ctx, rt.Network, rt.Addr)
	if errors.Is(err, errTargetNotAllowed) {
		err = s.targetNotAllowed(rt.Addr)
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.Dialed(time.Since(start), err)
	}
	if err != nil {
		return nil, fmt.Errorf("tunnel: dial target %s %s: %w", rt.Network, rt.Addr, err)
	}
	return c, nil
}

// errTargetNotAllowed is the error of a connect to an address that
// Config.AllowTarget refuses.
var errTargetNotAllowed = errors.New("tunnel: target not allowed")

// controlTarget is the default dialer's Control with Config.AllowTarget:
// net.Dialer calls it for each address it tries, after resolving the
// name, before it connects.
func (s *Server) controlTarget(network, address string, _ syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !s.cfg.AllowTarget(ap) {
		return fmt.Errorf("%w: %s", errTargetNotAllowed, address)
	}
	return nil
}

// targetNotAllowed logs that addr was refused by Config.AllowTarget and
// returns the refusal the client gets: it does not name the target.
func (s *Server) targetNotAllowed(addr string) error {
	s.log.Warnf("refused target %s: not in the allowed targets", addr)
	return &HandshakeError{Status: http.StatusForbidden, Msg: "target not allowed"}
}

// refuseAfterUpgrade sends a Close frame on a fresh WebSocket and waits,
// within CloseTimeout, for the client's reply before closing. A forced
// end of Shutdown or Drain closes c at once.
func (s *Server) refuseAfterUpgrade(c net.Conn, br *bufio.Reader, code frames.CloseCode, reason string) {
	defer c.Close()
	if !s.trackRefusing(c) {
		return
	}
	defer s.untrackRefusing(c)
	c.SetDeadline(time.Now().Add(s.cfg.CloseTimeout))
	if err := frames.NewWriter(c, frames.RoleServer).WriteClose(code, reason); err != nil {
		return
	}
	rd := frames.NewReader(br, frames.RoleServer)
	for {
		h, err := rd.NextFrame()
		if err != nil || h.Op == frames.OpClose {
			return
		}
	}
}

// trafficWriter prints websockify's --traffic glyphs from both pumps.
type trafficWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *trafficWriter) glyph(c byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = t.w.Write([]byte{c})
}
