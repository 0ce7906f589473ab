package tokens

import (
	"context"
	"strings"

	"github.com/pion/logging"
	"github.com/redis/go-redis/v9"
)

// SetRedisLogger routes go-redis's own log lines (connection pool dial
// failures and the like) to lf's "redis" scope at Debug level; otherwise
// go-redis writes them to stderr in its own format. The failures also reach
// callers as Lookup errors, hence Debug. go-redis has only a process-wide
// logger, so this changes process state: main calls it once, before New.
func SetRedisLogger(lf logging.LoggerFactory) {
	redis.SetLogger(redisLogger{lf.NewLogger("redis")})
}

// redisLogger adapts a pion logger to go-redis's logging interface.
type redisLogger struct{ log logging.LeveledLogger }

// Printf implements go-redis's internal.Logging.
func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Debugf(strings.TrimPrefix(format, "redis: "), v...)
}
