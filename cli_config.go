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

	Verbose       bool     `env:"VERBOSE" flag:"verbose" short:"v" usage:"Log at debug level, the same as --log-level=debug."`
	LogLevel      logLevel `env:"LOG_LEVEL" envDefault:"info" flag:"log-level" arg:"LEVEL" usage:"Log level: disable, error, warn, info, debug or trace. PION_LOG_<LEVEL>=scope,... sets the level of single scopes (main, http, tunnel, static), as in pion."`
	LogFile       string   `env:"LOG_FILE" flag:"log-file" arg:"FILE" usage:"Append the log to FILE instead of writing it to stderr; SIGHUP reopens it (for logrotate)."`
	MetricsListen string   `env:"METRICS_LISTEN" flag:"metrics-listen" arg:"ADDR" usage:"Serve Prometheus metrics on http://ADDR/metrics and health checks on /healthz (up) and /readyz (listening, token backend answering). Keep ADDR off the public port, e.g. 127.0.0.1:9180. 'wsbridge health' probes it (the container's HEALTHCHECK)."`
	Syslog        string   `env:"SYSLOG" flag:"syslog" arg:"SERVER" usage:"Also send the log to a syslog server: host:port (UDP) or a local socket such as /dev/log. RFC 5424, facility user, ident wsbridge."`
	LegacySyslog  bool     `env:"LEGACY_SYSLOG" flag:"legacy-syslog" usage:"With --syslog, use the old BSD syslog format (<pri>wsbridge[pid]: msg) instead of RFC 5424."`
	Record        string   `env:"RECORD" flag:"record" arg:"FILE" usage:"Record each session to FILE.N (N counts sessions from 1) in websockify's format, noVNC's playback JavaScript: both directions with millisecond times. Files are 0600: they hold everything typed, passwords included."`
	RecordLimit   int64    `env:"RECORD_LIMIT" flag:"record-limit" arg:"BYTES" usage:"Largest recording file; later data of the session is not recorded and the file says it was truncated. 0 means 100 MiB."`
	Traffic       bool     `env:"TRAFFIC" flag:"traffic" usage:"Write websockify's per-frame traffic glyphs to stdout: } frame from the client, > bytes to the target, < bytes from the target, { frame to the client."`

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
	ShutdownTimeout  seconds `env:"SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" arg:"N" usage:"On SIGTERM or SIGINT, how long sessions get to answer their Close 1001 before they are cut. 0 means --close-timeout plus one second. Keep it under systemd's TimeoutStopSec (30 s in the unit)."`
	HandshakeTimeout seconds `env:"HANDSHAKE_TIMEOUT" envDefault:"10" flag:"handshake-timeout" arg:"N" usage:"How long a client may take to send its HTTP request headers. 0 means no limit (not recommended: stalled handshakes pile up)."`
	MaxFrameSize     int     `env:"MAX_FRAME_SIZE" envDefault:"65536" flag:"max-frame-size" arg:"BYTES" usage:"Largest frame payload sent to the client, and the most one read from the target puts in a frame (buffers are pooled and taken only while data moves). At most 16 MiB; 0 means the default."`
	Compress         onOff   `env:"COMPRESS" envDefault:"on" flag:"compress" arg:"on|off" usage:"Agree to permessage-deflate (RFC 7692) when the client offers it (every browser does): the target's bytes go out compressed, without context takeover either way, so a session holds no compression state between messages. off answers as websockify (no extension)."`
	CompressLevel    int     `env:"COMPRESS_LEVEL" envDefault:"1" flag:"compress-level" arg:"N" usage:"Compression level, 1 (fastest) to 9 (smallest)."`
	EventLoop        onOff   `env:"EVENT_LOOP" envDefault:"on" flag:"event-loop" arg:"on|off" usage:"Bridge plain (not TLS, not compressed, not recorded) sessions on a few epoll loops shared by all sessions: an idle session then holds no goroutine or buffer, and each event costs one read and one write. off gives every session two goroutines of its own, as before."`
	MaxMessageSize   int64   `env:"MAX_MESSAGE_SIZE" flag:"max-message-size" arg:"BYTES" usage:"Close a client that sends a larger message with 1009. 0 means no limit, which costs no memory: messages are streamed, never held whole."`

	TokenPlugin  string `env:"TOKEN_PLUGIN" flag:"token-plugin" arg:"CLASS" usage:"Choose each session's target by a token (the token query parameter, or the Host header with --host-token): TokenFile, ReadOnlyTokenFile, TokenFileName, UnixDomainSocketDirectory, TokenRedis or JWTTokenApi (websockify's names; websockify.token_plugins.X works too). No target argument then."`
	TokenSource  string `env:"TOKEN_SOURCE" flag:"token-source" arg:"ARG" usage:"The token plugin's source: a token file or directory, a Redis host[:port[:db[:password[:namespace]]]], or a JWT key file."`
	TargetConfig string `env:"TARGET_CONFIG" flag:"target-config" arg:"FILE" usage:"Short for --token-plugin TokenFile --token-source FILE (websockify's older option)."`
	HostToken    bool   `env:"HOST_TOKEN" flag:"host-token" usage:"Take the token from the Host header (the whole name before the port) instead of the query."`
	UnixTarget   string `env:"UNIX_TARGET" flag:"unix-target" arg:"FILE" usage:"Bridge every WebSocket to this unix socket instead of a TCP target."`

	UnixListen     string `env:"UNIX_LISTEN" flag:"unix-listen" arg:"FILE" usage:"Listen on this unix socket instead of TCP (behind nginx); an existing socket file is replaced. No listen argument then."`
	UnixListenMode string `env:"UNIX_LISTEN_MODE" envDefault:"0600" flag:"unix-listen-mode" arg:"MODE" usage:"Octal file mode of the --unix-listen socket."`
	Inetd          bool   `env:"INETD" flag:"inetd" usage:"Accept connections on the listening socket inetd passes as stdin instead of opening one, as websockify. No listen argument then. (Under systemd socket activation, LISTEN_FDS, the sockets are taken from fd 3 on without this option.)"`

	AuthPlugin   string     `env:"AUTH_PLUGIN" flag:"auth-plugin" arg:"CLASS" usage:"Check every upgrade: BasicHTTPAuth (source user:password), BasicHTTPAuthFile (source: a file of user:bcrypt-hash lines; keeps secrets out of argv), ExpectOrigin (source: space-separated origins) or ClientCertCNAuth (source: space-separated names; needs TLS client certificates)."`
	AuthSource   string     `env:"AUTH_SOURCE" flag:"auth-source" arg:"ARG" usage:"The auth plugin's source."`
	WebAuth      bool       `env:"WEB_AUTH" flag:"web-auth" usage:"Apply the auth plugin to the page and --web files too."`
	AllowOrigin  stringList `env:"ALLOW_ORIGIN" flag:"allow-origin" arg:"ORIGIN" usage:"Accept upgrades only from pages of this origin (scheme://host[:port]; repeatable, or comma-separated in the variable). Stops cross-site WebSocket hijacking. Requests without Origin (non-browser clients) pass."`
	AllowTarget  stringList `env:"ALLOW_TARGET" flag:"allow-target" arg:"CIDR:PORTS" usage:"Dial only targets inside CIDR:PORT or CIDR:LOW-HIGH (repeatable), checked against the address actually dialled, so names that resolve elsewhere are refused too. Recommended with token plugins."`
	TrustedProxy stringList `env:"TRUSTED_PROXY" flag:"trusted-proxy" arg:"CIDR" usage:"Believe X-Forwarded-For and Forwarded (and PROXY protocol headers) only from these proxies (repeatable); the real client address then shows in logs and limits."`
	ProxyProto   bool       `env:"PROXY_PROTOCOL" flag:"proxy-protocol" usage:"Expect a HAProxy PROXY v1/v2 header on connections from --trusted-proxy addresses; others may not send one."`

	Cert           stringList `env:"CERT" flag:"cert" arg:"FILE" usage:"TLS certificate chain (PEM; may hold the key too), repeatable or a directory for several names (SNI). TLS and plain HTTP then share the port. Without it, ./self.pem is used if it exists, as websockify does. Reloaded when the files change or on SIGHUP."`
	Key            string     `env:"KEY" flag:"key" arg:"FILE" usage:"Private key for --cert, if the certificate file does not hold it."`
	SSLOnly        bool       `env:"SSL_ONLY" flag:"ssl-only" usage:"Refuse plain connections (closed without an answer, as websockify)."`
	SSLVersion     string     `env:"SSL_VERSION" flag:"ssl-version" arg:"VERSION" usage:"Minimum TLS version: default (TLS 1.2), tlsv1_1, tlsv1_2 or tlsv1_3."`
	SSLCiphers     string     `env:"SSL_CIPHERS" flag:"ssl-ciphers" arg:"CIPHERS" usage:"Cipher suites for TLS 1.2 and below, OpenSSL or Go names separated by ':'."`
	VerifyClient   bool       `env:"VERIFY_CLIENT" flag:"verify-client" usage:"Require a client certificate signed by --cafile (mTLS); its names feed ClientCertCNAuth."`
	CAFile         string     `env:"CAFILE" flag:"cafile" arg:"FILE" usage:"CA certificates for --verify-client."`
	ACMEDomain     stringList `env:"ACME_DOMAIN" flag:"acme-domain" arg:"NAME" usage:"Get certificates from Let's Encrypt (ACME) for NAME (repeatable); other names are refused."`
	ACMEEmail      string     `env:"ACME_EMAIL" flag:"acme-email" arg:"ADDR" usage:"Contact address for the ACME account."`
	ACMECache      string     `env:"ACME_CACHE" flag:"acme-cache" arg:"DIR" usage:"Where ACME certificates and the account key are kept."`
	ACMEDirectory  string     `env:"ACME_DIRECTORY" flag:"acme-directory" arg:"URL" usage:"ACME directory URL (default: Let's Encrypt production)."`
	SSLTarget      bool       `env:"SSL_TARGET" flag:"ssl-target" usage:"Connect to the target over TLS, verifying its certificate (system CAs or --target-ca) and name."`
	TargetCA       string     `env:"TARGET_CA" flag:"target-ca" arg:"FILE" usage:"CA certificates that sign the target's certificate (--ssl-target)."`
	TargetName     string     `env:"TARGET_SERVER_NAME" flag:"target-server-name" arg:"NAME" usage:"Name to verify on the target's certificate and to send as SNI (default: the target host)."`
	TargetInsecure bool       `env:"TARGET_INSECURE" flag:"target-insecure" usage:"Do not verify the target's certificate (self-signed lab targets only: anyone on the path can impersonate the target)."`

	MaxConnections      int     `env:"MAX_CONNECTIONS" flag:"max-connections" arg:"N" usage:"Refuse upgrades with 503 beyond N live sessions. 0 means no limit."`
	MaxConnectionsPerIP int     `env:"MAX_CONNECTIONS_PER_IP" flag:"max-connections-per-ip" arg:"N" usage:"Refuse upgrades with 503 beyond N live sessions from one client address. 0 means no limit."`
	HandshakeRate       float64 `env:"HANDSHAKE_RATE" flag:"handshake-rate" arg:"N" usage:"Refuse upgrades with 429 beyond N per second from one client address (bursts of 2N). 0 means no limit."`
}

// maxFrameSizeLimit bounds --max-frame-size: every session holds a buffer
// that large, so a typo should not cost gigabytes.
const maxFrameSizeLimit = 16 << 20

// validate checks what the types alone cannot.
func (c *Config) validate() error {
	if c.MaxFrameSize < 0 || c.MaxFrameSize > maxFrameSizeLimit {
		return usagef("wsbridge: --max-frame-size %d: want 0 to %d", c.MaxFrameSize, maxFrameSizeLimit)
	}
	if c.CompressLevel < 1 || c.CompressLevel > 9 {
		return usagef("wsbridge: --compress-level %d: want 1 to 9", c.CompressLevel)
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

// onOff is a switch that takes a value: on or off (also true/false, yes/no,
// 1/0), as --compress on. It is a flag.Value and, for the environment, an
// encoding.TextUnmarshaler.
type onOff bool

// Set parses s; see onOff.
func (b *onOff) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "yes", "1":
		*b = true
	case "off", "false", "no", "0":
		*b = false
	default:
		return errors.New("want on or off")
	}
	return nil
}

// String formats b as on or off.
func (b onOff) String() string {
	if b {
		return "on"
	}
	return "off"
}

// UnmarshalText parses an environment variable; see Set.
func (b *onOff) UnmarshalText(t []byte) error { return b.Set(string(t)) }

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

// stringList is a repeatable option. The first flag given replaces what
// the environment set (flags win); later flags add to it. In the
// environment the values are separated by commas, and so they are kept
// (no value contains a comma), which keeps Config comparable.
type stringList struct {
	joined   string
	fromFlag bool
}

// Set adds a value given as a flag.
func (l *stringList) Set(s string) error {
	if !l.fromFlag {
		l.joined, l.fromFlag = "", true
	}
	if strings.Contains(s, ",") {
		return errors.New("one value per flag, without commas")
	}
	if l.joined != "" {
		l.joined += ","
	}
	l.joined += strings.TrimSpace(s)
	return nil
}

// String joins the values with commas.
func (l *stringList) String() string {
	if l == nil {
		return ""
	}
	return l.joined
}

// Values returns the values.
func (l stringList) Values() []string {
	var vs []string
	for v := range strings.SplitSeq(l.joined, ",") {
		if v = strings.TrimSpace(v); v != "" {
			vs = append(vs, v)
		}
	}
	return vs
}

// UnmarshalText reads an environment variable: comma-separated values.
func (l *stringList) UnmarshalText(b []byte) error {
	l.joined = string(b)
	return nil
}
