package tokens

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pion/logging"
)

// defaultLeeway is the clock skew JWTTokenApi allows by default.
const defaultLeeway = 30 * time.Second

// jwtSource is the JWTTokenApi plugin: the token is a signed JWT whose
// "host" and "port" claims are the target. The key file is re-read when it
// changes, not per lookup.
type jwtSource struct {
	path   string
	log    logging.LeveledLogger
	parser *jwt.Parser // safe for concurrent use once built
	key    atomic.Pointer[jwtKey]
	poll   *poller

	mu     sync.Mutex // serialises key loads; guards the fields below
	ver    fileVersion
	errMsg string // the last load error, logged when it changes
}

var (
	_ Source   = (*jwtSource)(nil)
	_ Reloader = (*jwtSource)(nil)
)

// newJWTSource reads the key file, failing if it is unusable, and starts
// polling it for changes.
func newJWTSource(path string, opts Options, log logging.LeveledLogger) (*jwtSource, error) {
	leeway := opts.Leeway
	switch {
	case leeway == 0:
		leeway = defaultLeeway
	case leeway < 0:
		leeway = 0
	}
	s := &jwtSource{
		path: path,
		log:  log,
		// Validity only: the algorithms are checked against the key in
		// the key function (they change with the key file).
		parser: jwt.NewParser(jwt.WithLeeway(leeway)),
	}
	if err := s.load(true); err != nil {
		return nil, err
	}
	s.poll = startPoller(opts.ReloadInterval, s.tick)
	return s, nil
}

// Lookup verifies token with the current key and returns the target its
// claims name. A token that is malformed, badly signed, signed with an
// algorithm the key does not allow, expired, not yet valid, or lacking
// host and port is ErrNotFound, with the reason wrapped.
func (s *jwtSource) Lookup(_ context.Context, token string) (Target, error) {
	if strings.Count(token, ".") == 4 {
		return Target{}, fmt.Errorf("%w: JWT rejected: encrypted tokens (JWE) are not supported", ErrNotFound)
	}
	key := s.key.Load()
	claims := jwt.MapClaims{}
	_, err := s.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		for _, a := range key.algs {
			if a == alg {
				return key.keys, nil
			}
		}
		return nil, fmt.Errorf("algorithm %q not allowed with this %s key", alg, key.kind)
	})
	if err != nil {
		return Target{}, fmt.Errorf("%w: JWT rejected: %w", ErrNotFound, err)
	}
	t, err := claimsTarget(claims)
	if err != nil {
		return Target{}, fmt.Errorf("%w: JWT rejected: %w", ErrNotFound, err)
	}
	return t, nil
}

// claimsTarget returns the target named by the "host" and "port" claims.
// The port is a JSON number or a string of digits. As in websockify, host
// "unix_socket" makes port the path of a unix socket.
func claimsTarget(c jwt.MapClaims) (Target, error) {
	host, ok := c["host"].(string)
	if !ok {
		return Target{}, errors.New(`no string "host" claim`)
	}
	var port string
	switch p := c["port"].(type) {
	case string:
		port = p
	case float64:
		if p != math.Trunc(p) || p < 0 || p > 65535 {
			return Target{}, fmt.Errorf(`"port" claim %v out of range 1-65535`, p)
		}
		port = strconv.Itoa(int(p))
	case nil:
		return Target{}, errors.New(`no "port" claim`)
	default:
		return Target{}, fmt.Errorf(`"port" claim of type %T, want a number or a string`, p)
	}
	if host == "unix_socket" {
		return parseTarget(unixPrefix + port)
	}
	if strings.HasPrefix(host, "[") {
		// A bracketed IPv6 host, which parseTarget strips.
		return parseTarget(host + ":" + port)
	}
	if strings.Contains(port, ":") {
		return Target{}, fmt.Errorf(`"port" claim %q is not a number`, port)
	}
	return parseTarget(host + ":" + port)
}

// Reload re-reads the key file now. If it cannot be read or parsed, the
// previous key stays in use and the error says why.
func (s *jwtSource) Reload() error { return s.load(true) }

// Close stops the key file poller and waits for it.
func (s *jwtSource) Close() error {
	s.poll.close()
	return nil
}

// tick is the poller's work: re-read the key file if it changed.
func (s *jwtSource) tick() { _ = s.load(false) }

// load reads the key file if forced or if its stat changed, and swaps the
// key in if it parses. Failures keep the previous key; they are logged when
// forced or when they differ from the last one.
func (s *jwtSource) load(force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	err := s.read(now, force)
	if err != nil {
		if s.key.Load() != nil {
			err = fmt.Errorf("%w (keeping the key loaded before)", err)
		}
		if force || err.Error() != s.errMsg {
			s.log.Error(err.Error())
		}
		s.errMsg = err.Error()
		return err
	}
	s.errMsg = ""
	return nil
}

// read does load's work for one attempt.
func (s *jwtSource) read(now time.Time, force bool) error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("tokens: JWTTokenApi key %s: %w", s.path, withoutPath(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("tokens: JWTTokenApi key %s: not a regular file", s.path)
	}
	sig := sigOf(fi)
	if !force && !s.ver.stale(sig) {
		return nil
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("tokens: JWTTokenApi key %s: %w", s.path, withoutPath(err))
	}
	prev := s.ver
	if !s.ver.update(sig, now, data) && !force {
		return nil
	}
	key, err := parseJWTKey(data)
	if err != nil {
		// Forget this version so that a fixed file of the same size and
		// time is still read.
		s.ver = prev
		return fmt.Errorf("tokens: JWTTokenApi key %s: %w", s.path, err)
	}
	s.key.Store(key)
	s.log.Infof("tokens: JWTTokenApi key %s: %s, algorithms %s", s.path, key.kind, strings.Join(key.algs, " "))
	return nil
}
