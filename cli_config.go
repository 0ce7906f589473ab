package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pion/logging"
)

// envPrefix starts the name of every environment variable wsbridge reads.
const envPrefix = "WSBRIDGE_"

// Config is every setting of the command line, read first from WSBRIDGE_*
// environment variables (caarlos0/env) and then from flags, which win. The
// tags drive both: env names the variable (after envPrefix), flag and
// short the flags, arg the value's placeholder in --help, usage its help
// text. Listen and Target, which have no flag, are the positionals.
type Config struct {
	Listen string `env:"LISTEN" arg:"[source_addr:]source_port" usage:"Address to listen on. A bare port listens on 0.0.0.0 only, as websockify; with -6 on :: (IPv4 and IPv6)."`
	Target string `env:"TARGET" arg:"target_addr:target_port" usage:"TCP address every WebSocket is bridged to. The port must be 1-65535; IPv6 literals may be written [::1]:5900 or ::1:5900."`

	Verbose  bool     `env:"VERBOSE" flag:"verbose" short:"v" usage:"Log at debug level, the same as --log-level=debug."`
	LogLevel logLevel `env:"LOG_LEVEL" envDefault:"info" flag:"log-level" arg:"LEVEL" usage:"Log level: disable, error, warn, info, debug or trace. PION_LOG_<LEVEL>=scope,... sets the level of single scopes (main, http, tunnel, static), as in pion."`
	LogFile  string   `env:"LOG_FILE" flag:"log-file" arg:"FILE" usage:"Append the log to FILE instead of writing it to stderr."`
	Traffic  bool     `env:"TRAFFIC" flag:"traffic" usage:"Write websockify's per-frame traffic glyphs to stdout: } frame from the client, > bytes to the target, < bytes from the target, { frame to the client."`

	Heartbeat   seconds `env:"HEARTBEAT" flag:"heartbeat" arg:"N" usage:"Ping the client every N seconds; a client that sends nothing between two pings is closed. 0 turns pings off."`
	IdleTimeout seconds `env:"IDLE_TIMEOUT" flag:"idle-timeout" arg:"N" usage:"Exit after N seconds with no open session (server-level, as websockify). 0 means never. For a per-connection limit see --conn-idle-timeout."`
	Timeout     seconds `env:"TIMEOUT" flag:"timeout" arg:"N" usage:"N seconds after start, stop accepting connections; open sessions go on and wsbridge exits when they end. 0 means never."`
	RunOnce     bool    `env:"RUN_ONCE" flag:"run-once" usage:"Exit when the first WebSocket session ends; sessions still open then are closed with 1001."`
	PreferIPv6  bool    `env:"PREFER_IPV6" flag:"prefer-ipv6" short:"6" usage:"Make a bare listen port (or an empty source_addr) bind :: (IPv4 and IPv6) instead of 0.0.0.0."`

	Web        string `env:"WEB" flag:"web" arg:"DIR" usage:"Serve the files under DIR to plain HTTP requests on the same port, instead of the built-in page. Names with .. and symlinks leading out of DIR are refused."`
	FileOnly   bool   `env:"FILE_ONLY" flag:"file-only" usage:"Never list a directory under --web (404). This is the default already; it wins over --web-listing."`
	WebListing bool   `env:"WEB_LISTING" flag:"web-listing" usage:"List directories under --web that have no index.html, as websockify does by default (turned off here: listings were reported as a vulnerability)."`

	ConnIdleTimeout  seconds `env:"CONN_IDLE_TIMEOUT" flag:"conn-idle-timeout" arg:"N" usage:"Close a session that moved no data either way for N seconds. 0 means never. websockify has no such option; its --idle-timeout is server-level."`
	DialTimeout      seconds `env:"DIAL_TIMEOUT" envDefault:"10" flag:"dial-timeout" arg:"N" usage:"Give up connecting to the target after N seconds. 0 means no limit but the operating system's."`
	CloseTimeout     seconds `env:"CLOSE_TIMEOUT" envDefault:"5" flag:"close-timeout" arg:"N" usage:"How long a close handshake, a half-closed session and the final shutdown may take. 0 means the default, 5."`
	HandshakeTimeout seconds `env:"HANDSHAKE_TIMEOUT" envDefault:"10" flag:"handshake-timeout" arg:"N" usage:"How long a client may take to send its HTTP request headers. 0 means no limit (not recommended: stalled handshakes pile up)."`
	MaxFrameSize     int     `env:"MAX_FRAME_SIZE" envDefault:"65536" flag:"max-frame-size" arg:"BYTES" usage:"Largest frame payload sent to the client, and the size of each read from the target (the buffer every session holds). At most 16 MiB; 0 means the default."`
	MaxMessageSize   int64   `env:"MAX_MESSAGE_SIZE" flag:"max-message-size" arg:"BYTES" usage:"Close a client that sends a larger message with 1009. 0 means no limit, which costs no memory: messages are streamed, never held whole."`
}

// maxFrameSizeLimit bounds --max-frame-size: every session holds a buffer
// that large, so a typo should not cost gigabytes.
const maxFrameSizeLimit = 16 << 20

// validate checks what the types alone cannot.
func (c *Config) validate() error {
	if c.MaxFrameSize < 0 || c.MaxFrameSize > maxFrameSizeLimit {
		return usagef("wsbridge: --max-frame-size %d: want 0 to %d", c.MaxFrameSize, maxFrameSizeLimit)
	}
	if c.MaxMessageSize < 0 {
		return usagef("wsbridge: --max-message-size %d: want 0 or more", c.MaxMessageSize)
	}
	return nil
}

// seconds is a duration written as websockify writes one, a number of
// seconds ("30", "0.5"), or as a Go duration ("1m30s"). Negative values are
// refused. It is a flag.Value and, for the environment, an
// encoding.TextUnmarshaler.
type seconds time.Duration

// Set parses s; see seconds.
func (d *seconds) Set(s string) error {
	s = strings.TrimSpace(s)
	var v time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || f*float64(time.Second) >= math.MaxInt64 {
			return errors.New("out of range")
		}
		v = time.Duration(f * float64(time.Second))
	} else if v, err = time.ParseDuration(s); err != nil {
		return errors.New("want a number of seconds or a duration such as 1m30s")
	}
	if v < 0 {
		return errors.New("must not be negative")
	}
	*d = seconds(v)
	return nil
}

// String formats d as a number of seconds.
func (d seconds) String() string {
	return strconv.FormatFloat(time.Duration(d).Seconds(), 'f', -1, 64)
}

// UnmarshalText parses an environment variable; see Set.
func (d *seconds) UnmarshalText(b []byte) error { return d.Set(string(b)) }

// logLevel is a pion log level written as its name.
type logLevel logging.LogLevel

// logLevelNames lists the names logLevel accepts, least verbose first; the
// index is the pion level.
func logLevelNames() []string {
	return []string{"disable", "error", "warn", "info", "debug", "trace"}
}

// Set parses a level name.
func (l *logLevel) Set(s string) error {
	for i, name := range logLevelNames() {
		if strings.EqualFold(s, name) {
			*l = logLevel(i)
			return nil
		}
	}
	return errors.New("want disable, error, warn, info, debug or trace")
}

// String returns the level's name.
func (l logLevel) String() string {
	names := logLevelNames()
	if l < 0 || int(l) >= len(names) {
		return strconv.Itoa(int(l))
	}
	return names[l]
}

// UnmarshalText parses an environment variable; see Set.
func (l *logLevel) UnmarshalText(b []byte) error { return l.Set(string(b)) }
