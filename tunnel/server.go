package tunnel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pion/logging"

	"wsbridge/frames"
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
	bufs    sync.Pool // *[]byte of MaxHeaderLen+MaxFrameSize
	traffic *trafficWriter

	mu       sync.Mutex
	sessions map[*pair]struct{}
	closing  bool
	wg       sync.WaitGroup // one per registered session
}

// New checks cfg, fills in defaults and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Target == "" {
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
		dial:     cfg.Dial,
	}
	if s.dial == nil {
		d := &net.Dialer{KeepAlive: 30 * time.Second}
		s.dial = d.DialContext
	}
	size := frames.MaxHeaderLen + cfg.MaxFrameSize
	s.bufs.New = func() any { b := make([]byte, size); return &b }
	if cfg.Traffic != nil {
		s.traffic = &trafficWriter{w: cfg.Traffic}
	}
	return s, nil
}

func (s *Server) getBuf() *[]byte  { return s.bufs.Get().(*[]byte) }
func (s *Server) putBuf(b *[]byte) { s.bufs.Put(b) }

// ServeHTTP upgrades WebSocket requests and bridges them; other requests go
// to Config.Fallback.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !IsUpgrade(r) {
		if s.cfg.Fallback != nil {
			s.cfg.Fallback.ServeHTTP(w, r)
			return
		}
		http.Error(w, "this is a WebSocket bridge: connect with a WebSocket client", http.StatusMethodNotAllowed)
		return
	}
	hs, herr := CheckUpgrade(r, true)
	if herr != nil {
		s.log.Infof("%s: refused upgrade: %d %s", r.RemoteAddr, herr.Status, herr.Msg)
		Refuse(w, herr)
		return
	}
	if s.isClosing() {
		Refuse(w, &HandshakeError{http.StatusServiceUnavailable, "server shutting down"})
		return
	}
	target, derr := s.dialTarget(r.Context())
	client, br, err := Accept(w, hs)
	if err != nil {
		s.log.Warnf("%s: %v", r.RemoteAddr, err)
		if target != nil {
			target.Close()
		}
		return
	}
	if derr != nil {
		// The client gets the reason in a Close frame, where a browser can
		// show it; a failed handshake would only give it a bare 1006.
		s.log.Warnf("%s: %v", r.RemoteAddr, derr)
		s.refuseAfterUpgrade(client, br, frames.CloseInternalError, reasonDialFailed)
		return
	}
	p := newPair(s, client, br, target)
	if !s.register(p) {
		s.refuseAfterUpgrade(client, br, frames.CloseGoingAway, reasonShutdown)
		target.Close()
		return
	}
	defer s.unregister(p)
	s.log.Infof("session %s -> %s opened", client.RemoteAddr(), target.RemoteAddr())
	if s.cfg.OnSessionStart != nil {
		s.cfg.OnSessionStart()
	}
	p.run()
	st := p.stats()
	s.log.Info(st.String())
	if s.cfg.OnSessionEnd != nil {
		s.cfg.OnSessionEnd(st)
	}
}

// dialTarget connects to the target within DialTimeout.
func (s *Server) dialTarget(ctx context.Context) (net.Conn, error) {
	if s.cfg.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.DialTimeout)
		defer cancel()
	}
	c, err := s.dial(ctx, "tcp", s.cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("tunnel: dial target %s: %w", s.cfg.Target, err)
	}
	return c, nil
}

// refuseAfterUpgrade sends a Close frame on a fresh WebSocket and waits,
// within CloseTimeout, for the client's reply before closing.
func (s *Server) refuseAfterUpgrade(c net.Conn, br *bufio.Reader, code frames.CloseCode, reason string) {
	defer c.Close()
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

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// register adds p to the live sessions, unless the server is closing.
func (s *Server) register(p *pair) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions[p] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) unregister(p *pair) {
	s.mu.Lock()
	delete(s.sessions, p)
	s.mu.Unlock()
	s.wg.Done()
}

// Active returns the number of live sessions.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// live marks the server closing and returns the sessions alive now.
func (s *Server) stopAccepting() []*pair {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	ps := make([]*pair, 0, len(s.sessions))
	for p := range s.sessions {
		ps = append(ps, p)
	}
	return ps
}

// Shutdown refuses new upgrades, sends Close 1001 to every live session and
// waits until they have ended or ctx is done; then it closes what is left
// and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, p := range s.stopAccepting() {
		wg.Go(p.goAway) // bounded by the pair's linger deadline
	}
	wg.Wait()
	return s.wait(ctx)
}

// Drain refuses new upgrades and waits, without closing anything, until
// every live session has ended on its own or ctx is done; then it closes
// what is left and returns ctx's error.
func (s *Server) Drain(ctx context.Context) error {
	s.stopAccepting()
	return s.wait(ctx)
}

// wait waits for every registered session to end; when ctx ends first it
// tears the rest down and waits for that, which cannot block.
func (s *Server) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { // owned here: ends when every session has unregistered
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for p := range s.sessions {
		p.end("server", 0, errors.New("shutdown timeout"))
		p.closeBoth()
	}
	s.mu.Unlock()
	<-done
	return ctx.Err()
}

// goAway starts the closing handshake from this side with 1001.
func (p *pair) goAway() {
	p.end("server", frames.CloseGoingAway, nil)
	p.linger()
	_ = p.writeClose(frames.CloseGoingAway, reasonShutdown)
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
