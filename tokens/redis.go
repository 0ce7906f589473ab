package tokens

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/logging"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// defaultRedisTimeout bounds a TokenRedis lookup when Options.RedisTimeout
// is not set: long enough for a loaded server, short enough that a client's
// handshake does not hang on a dead one.
const defaultRedisTimeout = 2 * time.Second

// redisSource is the TokenRedis plugin: GET namespace:token from Redis.
type redisSource struct {
	addr    string
	prefix  string // "namespace:" or ""
	timeout time.Duration
	client  *redis.Client

	closeOnce sync.Once
	closeErr  error
}

var _ Source = (*redisSource)(nil)

// newRedisSource parses source and makes a client. It does not connect: the
// first lookup does, so the bridge starts while Redis is still coming up.
func newRedisSource(source string, opts Options, log logging.LeveledLogger) (*redisSource, error) {
	cfg, err := parseRedisSource(source)
	if err != nil {
		return nil, err
	}
	timeout := opts.RedisTimeout
	if timeout <= 0 {
		timeout = defaultRedisTimeout
	}
	s := &redisSource{addr: cfg.addr, timeout: timeout}
	if cfg.namespace != "" {
		s.prefix = cfg.namespace + ":"
	}
	s.client = redis.NewClient(&redis.Options{
		Addr:     cfg.addr,
		Password: cfg.password,
		DB:       cfg.db,
		// RESP2 and no CLIENT SETINFO: a GET needs nothing newer, and
		// old servers then see no command they reject.
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		// Every wait is bounded by timeout, and by the lookup's context.
		DialTimeout:           timeout,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		ContextTimeoutEnabled: true,
		// One retry covers a pooled connection the server has dropped; a
		// dead server fails fast instead of retrying until the deadline.
		MaxRetries:    1,
		DialerRetries: 1,
	})
	log.Infof("tokens: TokenRedis: server %s, db %d, password %t, namespace %q", cfg.addr, cfg.db, cfg.password != "", cfg.namespace)
	return s, nil
}

// Check PINGs the server within the lookup timeout.
func (s *redisSource) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("tokens: redis %s: %w: %w", s.addr, ErrUnavailable, err)
	}
	return nil
}

// Lookup GETs the token's key and parses the value. A missing key is
// ErrNotFound; a server that cannot answer within the timeout (down,
// refusing the password, loading) is ErrUnavailable; a value that is not a
// target is another error.
func (s *redisSource) Lookup(ctx context.Context, token string) (Target, error) {
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	val, err := s.client.Get(tctx, s.prefix+token).Result()
	switch {
	case err == nil:
	case errors.Is(err, redis.Nil):
		return Target{}, ErrNotFound
	case ctx.Err() != nil:
		return Target{}, fmt.Errorf("tokens: redis %s: %w", s.addr, ctx.Err())
	case isWrongType(err):
		return Target{}, fmt.Errorf("tokens: redis %s: token key: %w", s.addr, err)
	case tctx.Err() != nil:
		return Target{}, &unavailableError{addr: s.addr, err: fmt.Errorf("no answer within %v: %w", s.timeout, err)}
	default:
		return Target{}, &unavailableError{addr: s.addr, err: err}
	}
	t, err := parseRedisValue(val)
	if err != nil {
		return Target{}, fmt.Errorf("tokens: redis %s: token key: bad value: %w", s.addr, err)
	}
	return t, nil
}

// isWrongType reports whether err is Redis refusing GET on a key holding
// another type: the key's content is wrong, the server is fine.
func isWrongType(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "WRONGTYPE")
}

// Close closes the client and its connections.
func (s *redisSource) Close() error {
	s.closeOnce.Do(func() {
		if err := s.client.Close(); err != nil {
			s.closeErr = fmt.Errorf("tokens: redis %s: close: %w", s.addr, err)
		}
	})
	return s.closeErr
}

// unavailableError is a Redis failure: it wraps both ErrUnavailable and the
// client's error, and reads "tokens: redis ADDR: CAUSE".
type unavailableError struct {
	addr string
	err  error
}

// Error implements error.
func (e *unavailableError) Error() string { return "tokens: redis " + e.addr + ": " + e.err.Error() }

// Unwrap lets errors.Is find ErrUnavailable and the cause.
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }
