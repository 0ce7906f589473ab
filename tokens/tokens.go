package tokens

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pion/logging"
)

// Source looks tokens up. Implementations are safe for concurrent use.
type Source interface {
	// Lookup returns where token leads. It returns an error wrapping
	// ErrNotFound for a token that leads nowhere, and one wrapping
	// ErrUnavailable when the backend cannot answer.
	Lookup(ctx context.Context, token string) (Target, error)
	// Close stops reload watchers and backend clients, and waits for the
	// source's own goroutines. It may be called more than once.
	Close() error
}

// Reloader is implemented by the sources that read files (TokenFile,
// ReadOnlyTokenFile, JWTTokenApi). Reload re-reads them now, whether or not
// their stat changed, as on SIGHUP; what fails to read keeps its previous
// state, and the error says what failed.
type Reloader interface {
	Reload() error
}

// Checker is implemented by sources with a backend that can be down
// (TokenRedis). Check reports whether the backend answers now, for a
// readiness probe; file-based sources are checked when they are created.
type Checker interface {
	Check(ctx context.Context) error
}

// Options tunes the plugins. The zero value is ready to use.
type Options struct {
	// LoggerFactory makes the logger (scope "tokens") that reports reloads,
	// skipped token file lines and unreadable files. Nil means
	// logging.NewDefaultLoggerFactory(). Tokens are never logged.
	LoggerFactory logging.LoggerFactory

	// ReloadInterval is how often TokenFile and JWTTokenApi stat their
	// files for changes (a changed file is re-read; lookups never read
	// files). Zero means 2 s; negative turns polling off, leaving Reload.
	ReloadInterval time.Duration

	// Leeway is the clock skew allowed when JWTTokenApi checks a token's
	// exp and nbf claims. Zero means 30 s; negative means none (as
	// websockify, which then rejects tokens from a host whose clock is
	// slightly ahead).
	Leeway time.Duration

	// RedisTimeout bounds each TokenRedis lookup: dial, authentication and
	// GET together. Zero or negative means 2 s. When it passes, the lookup
	// fails with ErrUnavailable rather than hold the client's handshake.
	RedisTimeout time.Duration
}

// Plugin names, as websockify's --token-plugin takes them.
const (
	PluginTokenFile                 = "TokenFile"
	PluginReadOnlyTokenFile         = "ReadOnlyTokenFile"
	PluginTokenFileName             = "TokenFileName"
	PluginUnixDomainSocketDirectory = "UnixDomainSocketDirectory"
	PluginTokenRedis                = "TokenRedis"
	PluginJWTTokenAPI               = "JWTTokenApi"
)

// websockifyModule is the module websockify resolves bare plugin names in.
const websockifyModule = "websockify.token_plugins."

// knownPlugins lists the plugin names New accepts, sorted, for error messages.
const knownPlugins = "JWTTokenApi, ReadOnlyTokenFile, TokenFile, TokenFileName, TokenRedis, UnixDomainSocketDirectory"

// New creates the token plugin named plugin with websockify's
// --token-source string source. plugin is a bare class name ("TokenFile") or
// websockify's dotted form ("websockify.token_plugins.TokenFile"). File
// based plugins read or check their source now and fail if it is unusable,
// where websockify would fail at each lookup; TokenRedis does not connect
// until the first lookup.
func New(plugin, source string, opts Options) (Source, error) {
	name := strings.TrimPrefix(plugin, websockifyModule)
	switch name {
	case PluginTokenFile, PluginReadOnlyTokenFile, PluginTokenFileName,
		PluginUnixDomainSocketDirectory, PluginTokenRedis, PluginJWTTokenAPI:
	case "BaseTokenAPI", "JSONTokenApi":
		return nil, fmt.Errorf("tokens: token plugin %q (an HTTP API) is not supported; known plugins: %s", plugin, knownPlugins)
	default:
		return nil, fmt.Errorf("tokens: unknown token plugin %q; known plugins: %s", plugin, knownPlugins)
	}
	if source == "" {
		return nil, fmt.Errorf("tokens: %s: empty token source", name)
	}
	lf := opts.LoggerFactory
	if lf == nil {
		lf = logging.NewDefaultLoggerFactory()
	}
	log := lf.NewLogger("tokens")
	switch name {
	case PluginTokenFileName:
		return newFileNameSource(source)
	case PluginUnixDomainSocketDirectory:
		return newUnixDirSource(source)
	case PluginTokenRedis:
		return newRedisSource(source, opts, log)
	case PluginJWTTokenAPI:
		return newJWTSource(source, opts, log)
	}
	return newFileSource(source, opts, log)
}
