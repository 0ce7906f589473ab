package tunnel

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/pion/logging"
)

// Server bridges WebSocket upgrades to TCP connections. It is an
// http.Handler: upgrades are bridged, everything else goes to
// Config.Fallback. Hijacked connections are tracked by the Server itself
// (http.Server.Shutdown ignores them), so Shutdown can close each session
// with 1001 and wait for it.
type Server struct {
	cfg Config
	log logging.LeveledLogger

	mu       sync.Mutex
	sessions map[*pair]struct{}
	closing  bool
	idle     chan struct{} // closed when sessions becomes empty while closing
	wg       sync.WaitGroup
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
	return &Server{
		cfg:      cfg,
		log:      cfg.LoggerFactory.NewLogger("tunnel"),
		sessions: make(map[*pair]struct{}),
	}, nil
}

// ServeHTTP upgrades WebSocket requests and bridges them; other requests go
// to Config.Fallback.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}

// Active returns the number of live sessions.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Shutdown refuses new upgrades, sends Close 1001 to every live session and
// waits until they have ended or ctx is done; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	return nil
}

// Drain refuses new upgrades and waits, without closing anything, until
// every live session has ended on its own or ctx is done.
func (s *Server) Drain(ctx context.Context) error {
	return nil
}

type pair struct{}
