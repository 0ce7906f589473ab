package main

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
)

func TestParseArgsPositionals(t *testing.T) {
	tests := []struct {
		name                    string
		args, env               []string
		network, listen, target string
	}{
		{"bare port", []string{"8080", "localhost:5900"}, nil, "tcp4", "0.0.0.0:8080", "localhost:5900"},
		{"bare port -6", []string{"-6", "8080", "localhost:5900"}, nil, "tcp", "[::]:8080", "localhost:5900"},
		{"bare port --prefer-ipv6 after", []string{"8080", "localhost:5900", "--prefer-ipv6"}, nil, "tcp", "[::]:8080", "localhost:5900"},
		{"empty host", []string{":8080", "localhost:5900"}, nil, "tcp4", "0.0.0.0:8080", "localhost:5900"},
		{"ipv4 host", []string{"127.0.0.1:8080", "localhost:5900"}, nil, "tcp", "127.0.0.1:8080", "localhost:5900"},
		{"bracketed ipv6", []string{"[::1]:8080", "[::1]:5900"}, nil, "tcp", "[::1]:8080", "[::1]:5900"},
		{"bare ipv6", []string{"::1:8080", "::1:5900"}, nil, "tcp", "[::1]:8080", "[::1]:5900"},
		{"name", []string{"localhost:8080", "vnc.internal:5901"}, nil, "tcp", "localhost:8080", "vnc.internal:5901"},
		{"port 0", []string{"127.0.0.1:0", "h:1"}, nil, "tcp", "127.0.0.1:0", "h:1"},
		{"leading zeros", []string{"08080", "h:05900"}, nil, "tcp4", "0.0.0.0:8080", "h:5900"},
		{"max ports", []string{"65535", "h:65535"}, nil, "tcp4", "0.0.0.0:65535", "h:65535"},
		{"env both", nil, []string{"WSBRIDGE_LISTEN=:8080", "WSBRIDGE_TARGET=localhost:22"}, "tcp4", "0.0.0.0:8080", "localhost:22"},
		{"env target, listen argument", []string{"9000"}, []string{"WSBRIDGE_TARGET=localhost:22"}, "tcp4", "0.0.0.0:9000", "localhost:22"},
		{"env listen, target argument", []string{"h:23"}, []string{"WSBRIDGE_LISTEN=9000"}, "tcp4", "0.0.0.0:9000", "h:23"},
		{"arguments win", []string{"9000", "h:23"}, []string{"WSBRIDGE_LISTEN=1", "WSBRIDGE_TARGET=x:1"}, "tcp4", "0.0.0.0:9000", "h:23"},
		{"env -6", nil, []string{"WSBRIDGE_LISTEN=8080", "WSBRIDGE_TARGET=h:1", "WSBRIDGE_PREFER_IPV6=true"}, "tcp", "[::]:8080", "h:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseArgs(tt.args, tt.env)
			if err != nil {
				t.Fatalf("parseArgs(%q, %q): %v", tt.args, tt.env, err)
			}
			if s.listenNetwork != tt.network || s.listenAddr != tt.listen || s.target != tt.target {
				t.Errorf("got listen %s %s target %s, want %s %s %s",
					s.listenNetwork, s.listenAddr, s.target, tt.network, tt.listen, tt.target)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name      string
		args, env []string
		want      string
	}{
		{"nothing", nil, nil, "Too few arguments"},
		{"missing target", []string{"8080"}, nil, "Too few arguments"},
		{"too many", []string{"8080", "a:1", "b:2"}, nil, "Too many arguments"},
		{"too many with flags", []string{"8080", "--heartbeat", "3", "a:1", "-v", "b:2"}, nil, "Too many arguments"},
		{"listen port word", []string{"x:abc", "a:1"}, nil, "Error parsing listen port"},
		{"listen port big", []string{"70000", "a:1"}, nil, "Error parsing listen port"},
		{"listen port negative", []string{"h:-1", "a:1"}, nil, "Error parsing listen port"},
		{"listen port empty", []string{"h:", "a:1"}, nil, "Error parsing listen port"},
		{"listen port sign", []string{"+80", "a:1"}, nil, "Error parsing listen port"},
		{"target without port", []string{"8080", "localhost"}, nil, "Error parsing target"},
		{"target without host", []string{"8080", ":5900"}, nil, "Error parsing target"},
		{"target port word", []string{"8080", "localhost:vnc"}, nil, "Error parsing target port"},
		{"target port 0", []string{"8080", "localhost:0"}, nil, "Error parsing target port"},
		{"target port big", []string{"8080", "localhost:65536"}, nil, "Error parsing target port"},
		{"target stray bracket", []string{"8080", "0]:1"}, nil, "Error parsing target"},
		{"listen stray bracket", []string{"[a:1", "h:1"}, nil, "Error parsing listen address"},
		{"target port empty", []string{"8080", "localhost:"}, nil, "Error parsing target port"},
		{"env target bad", []string{"8080"}, []string{"WSBRIDGE_TARGET=nohost"}, "Error parsing target"},
		{"unknown flag", []string{"--bogus", "8080", "a:1"}, nil, "-bogus"},
		{"flag without value", []string{"8080", "a:1", "--heartbeat"}, nil, "heartbeat"},
		{"negative seconds", []string{"--heartbeat=-1", "8080", "a:1"}, nil, "negative"},
		{"bad seconds", []string{"--dial-timeout", "soon", "8080", "a:1"}, nil, "seconds"},
		{"NaN seconds", []string{"--timeout", "NaN", "8080", "a:1"}, nil, "range"},
		{"huge seconds", []string{"--timeout", "1e300", "8080", "a:1"}, nil, "range"},
		{"bad level", []string{"--log-level", "loud", "8080", "a:1"}, nil, "log-level"},
		{"bad int", []string{"--max-frame-size", "big", "8080", "a:1"}, nil, "max-frame-size"},
		{"frame size negative", []string{"--max-frame-size", "-1", "8080", "a:1"}, nil, "--max-frame-size"},
		{"frame size huge", []string{"--max-frame-size", "1000000000", "8080", "a:1"}, nil, "--max-frame-size"},
		{"message size negative", []string{"--max-message-size=-1", "8080", "a:1"}, nil, "--max-message-size"},
		{"env bad seconds", []string{"8080", "a:1"}, []string{"WSBRIDGE_HEARTBEAT=often"}, `WSBRIDGE_HEARTBEAT="often"`},
		{"env bad bool", []string{"8080", "a:1"}, []string{"WSBRIDGE_RUN_ONCE=maybe"}, `WSBRIDGE_RUN_ONCE="maybe"`},
		{"env bad level", []string{"8080", "a:1"}, []string{"WSBRIDGE_LOG_LEVEL=loud"}, "WSBRIDGE_LOG_LEVEL"},
		{"wrap mode", []string{"8080", "--", "vncserver", ":1"}, nil, "wrap mode"},
		{"wrap mode first", []string{"--", "8080", "a:1"}, nil, "wrap mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseArgs(%q, %q) = %v, want an error containing %q", tt.args, tt.env, err, tt.want)
			}
			if _, ok := errors.AsType[*usageError](err); !ok {
				t.Errorf("error %v is not a usage error", err)
			}
			if !strings.HasPrefix(err.Error(), "wsbridge: ") {
				t.Errorf("error %q lacks the wsbridge: prefix", err)
			}
		})
	}
}

func TestParseArgsOptions(t *testing.T) {
	defaults := func(c *Config) {
		c.Listen, c.Target = "8080", "h:1"
		c.LogLevel = logLevel(logging.LogLevelInfo)
		c.DialTimeout = seconds(10 * time.Second)
		c.CloseTimeout = seconds(5 * time.Second)
		c.HandshakeTimeout = seconds(10 * time.Second)
		c.MaxFrameSize = 65536
		c.UnixListenMode = "0600"
		c.Compress, c.CompressLevel = true, 1
		c.EventLoop = true
	}
	every := []string{
		"WSBRIDGE_VERBOSE=1", "WSBRIDGE_LOG_LEVEL=warn", "WSBRIDGE_LOG_FILE=/tmp/x.log",
		"WSBRIDGE_TRAFFIC=true", "WSBRIDGE_HEARTBEAT=30", "WSBRIDGE_IDLE_TIMEOUT=1m",
		"WSBRIDGE_TIMEOUT=2.5", "WSBRIDGE_RUN_ONCE=true", "WSBRIDGE_PREFER_IPV6=true",
		"WSBRIDGE_WEB=/srv/novnc", "WSBRIDGE_FILE_ONLY=true", "WSBRIDGE_WEB_LISTING=true",
		"WSBRIDGE_CONN_IDLE_TIMEOUT=300", "WSBRIDGE_DIAL_TIMEOUT=3", "WSBRIDGE_CLOSE_TIMEOUT=1",
		"WSBRIDGE_HANDSHAKE_TIMEOUT=4", "WSBRIDGE_MAX_FRAME_SIZE=4096", "WSBRIDGE_MAX_MESSAGE_SIZE=1048576",
		"WSBRIDGE_COMPRESS=off", "WSBRIDGE_COMPRESS_LEVEL=6", "WSBRIDGE_EVENT_LOOP=off", "WSBRIDGE_SHUTDOWN_TIMEOUT=7",
		"WSBRIDGE_RECORD=/tmp/rec", "WSBRIDGE_RECORD_LIMIT=1000", "WSBRIDGE_METRICS_LISTEN=127.0.0.1:9180",
		"WSBRIDGE_LISTEN=8080", "WSBRIDGE_TARGET=h:1",
	}
	everyConfig := func(c *Config) {
		*c = Config{
			Listen: "8080", Target: "h:1",
			Verbose: true, LogLevel: logLevel(logging.LogLevelWarn), LogFile: "/tmp/x.log", Traffic: true,
			Heartbeat: seconds(30 * time.Second), IdleTimeout: seconds(time.Minute), Timeout: seconds(2500 * time.Millisecond),
			RunOnce: true, PreferIPv6: true, Web: "/srv/novnc", FileOnly: true, WebListing: true,
			ConnIdleTimeout: seconds(300 * time.Second), DialTimeout: seconds(3 * time.Second),
			CloseTimeout: seconds(time.Second), HandshakeTimeout: seconds(4 * time.Second),
			MaxFrameSize: 4096, MaxMessageSize: 1 << 20, UnixListenMode: "0600",
			Compress: false, CompressLevel: 6, ShutdownTimeout: seconds(7 * time.Second),
			Record: "/tmp/rec", RecordLimit: 1000, MetricsListen: "127.0.0.1:9180",
		}
	}
	tests := []struct {
		name      string
		args, env []string
		want      func(*Config)
		level     logging.LogLevel
	}{
		{"defaults", []string{"8080", "h:1"}, nil, defaults, logging.LogLevelInfo},
		{"flags after positionals", []string{"8080", "h:1", "--heartbeat", "30", "-v"}, nil, func(c *Config) {
			defaults(c)
			c.Heartbeat, c.Verbose = seconds(30*time.Second), true
		}, logging.LogLevelDebug},
		{"flags between positionals", []string{"8080", "--heartbeat=30", "h:1", "--traffic"}, nil, func(c *Config) {
			defaults(c)
			c.Heartbeat, c.Traffic = seconds(30*time.Second), true
		}, logging.LogLevelInfo},
		{"--opt=v, --opt v and -opt v", []string{"--heartbeat=7", "--idle-timeout", "8", "-timeout", "9", "-conn-idle-timeout=10", "8080", "h:1"}, nil, func(c *Config) {
			defaults(c)
			c.Heartbeat, c.IdleTimeout = seconds(7*time.Second), seconds(8*time.Second)
			c.Timeout, c.ConnIdleTimeout = seconds(9*time.Second), seconds(10*time.Second)
		}, logging.LogLevelInfo},
		{"seconds forms", []string{"--heartbeat", "0.5", "--timeout", "1m30s", "--dial-timeout", "0", "8080", "h:1"}, nil, func(c *Config) {
			defaults(c)
			c.Heartbeat, c.Timeout, c.DialTimeout = seconds(500*time.Millisecond), seconds(90*time.Second), 0
		}, logging.LogLevelInfo},
		{"every flag", []string{
			"-v", "--log-level", "warn", "--log-file=/tmp/x.log", "--traffic", "--heartbeat", "30",
			"--idle-timeout", "60", "--timeout", "2.5", "--run-once", "-6", "--web", "/srv/novnc",
			"--file-only", "--web-listing", "--conn-idle-timeout", "300", "--dial-timeout", "3",
			"--close-timeout", "1", "--handshake-timeout", "4", "--max-frame-size", "4096",
			"--max-message-size", "1048576", "--compress", "off", "--compress-level", "6", "--event-loop=off",
			"--shutdown-timeout", "7", "--record", "/tmp/rec", "--record-limit", "1000",
			"--metrics-listen", "127.0.0.1:9180", "8080", "h:1",
		}, nil, everyConfig, logging.LogLevelDebug},
		{"every env var", nil, every, everyConfig, logging.LogLevelDebug},
		{"flags win over env", []string{"--heartbeat", "5", "--log-level=error", "--web", "/www", "--run-once=false", "9", "h:2"}, every, func(c *Config) {
			everyConfig(c)
			c.Heartbeat, c.LogLevel, c.Web, c.RunOnce = seconds(5*time.Second), logLevel(logging.LogLevelError), "/www", false
			c.Listen, c.Target = "9", "h:2"
		}, logging.LogLevelDebug},
		{"verbose does not lower trace", []string{"-v", "--log-level", "TRACE", "8080", "h:1"}, nil, func(c *Config) {
			defaults(c)
			c.Verbose, c.LogLevel = true, logLevel(logging.LogLevelTrace)
		}, logging.LogLevelTrace},
		{"empty env var is unset", []string{"8080", "h:1"}, []string{"WSBRIDGE_HEARTBEAT=", "WSBRIDGE_DIAL_TIMEOUT="}, defaults, logging.LogLevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseArgs(tt.args, tt.env)
			if err != nil {
				t.Fatalf("parseArgs(%q, %q): %v", tt.args, tt.env, err)
			}
			var want Config
			tt.want(&want)
			if s.Config != want {
				t.Errorf("got  %+v\nwant %+v", s.Config, want)
			}
			if s.level != tt.level {
				t.Errorf("level %v, want %v", s.level, tt.level)
			}
		})
	}
}

func TestParseArgsUnsupported(t *testing.T) {
	for _, u := range unsupportedOptions() {
		forms := [][]string{{"--" + u.name}, {"-" + u.name}}
		if u.short != "" {
			forms = append(forms, []string{"-" + u.short})
		}
		for _, f := range forms {
			if u.value != "" {
				f = append(f, "VALUE")
			}
			want := f[0] + ": not yet supported by wsbridge"
			if f[0] == "-"+u.name {
				want = "--" + u.name + ": not yet supported by wsbridge"
			}
			for _, args := range [][]string{
				append(append([]string{}, f...), "8080", "h:1"),
				append([]string{"8080", "h:1"}, f...),
				append([]string{"8080"}, f...), // the error wins over "Too few arguments"
			} {
				_, err := parseArgs(args, nil)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("parseArgs(%q) = %v, want an error containing %q", args, err, want)
				}
			}
		}
		env := []string{u.env() + "=1"}
		_, err := parseArgs([]string{"8080", "h:1"}, env)
		if want := u.env() + ": not yet supported by wsbridge"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseArgs with %q = %v, want an error containing %q", env, err, want)
		}
	}
	// "=" forms of the value options.
	_, err := parseArgs([]string{"--wrap-mode=exit", "8080", "h:1"}, nil)
	if err == nil || !strings.Contains(err.Error(), "--wrap-mode: not yet supported by wsbridge") {
		t.Errorf("--wrap-mode=exit: got %v", err)
	}
}

func TestParseArgsHelpVersion(t *testing.T) {
	badEnv := []string{"WSBRIDGE_HEARTBEAT=often", "WSBRIDGE_LIBSERVER=1"}
	tests := []struct {
		args          []string
		env           []string
		help, version bool
	}{
		{[]string{"--help"}, nil, true, false},
		{[]string{"-h"}, nil, true, false},
		{[]string{"8080", "--help"}, nil, true, false},
		{[]string{"--cert", "x", "--help"}, nil, true, false}, // help wins over errors found after parsing
		{[]string{"--help"}, badEnv, true, false},
		{[]string{"--version"}, nil, false, true},
		{[]string{"--version"}, badEnv, false, true},
		{[]string{"-version", "1", "2", "3"}, nil, false, true},
	}
	for _, tt := range tests {
		s, err := parseArgs(tt.args, tt.env)
		if err != nil {
			t.Errorf("parseArgs(%q, %q): %v", tt.args, tt.env, err)
			continue
		}
		if s.help != tt.help || s.version != tt.version {
			t.Errorf("parseArgs(%q, %q): help %v version %v, want %v %v", tt.args, tt.env, s.help, s.version, tt.help, tt.version)
		}
	}
}

func TestUnknownEnv(t *testing.T) {
	s, err := parseArgs([]string{"8080", "h:1"}, []string{"WSBRIDGE_HEARTBEET=3", "WSBRIDGE_HEARTBEAT=3", "WSBRIDGE_X=", "HOME=/root"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.unknownEnv, " "); got != "WSBRIDGE_HEARTBEET WSBRIDGE_X" {
		t.Errorf("unknownEnv = %q, want WSBRIDGE_HEARTBEET WSBRIDGE_X", got)
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"30", 30 * time.Second, true},
		{" 30 ", 30 * time.Second, true},
		{"0.25", 250 * time.Millisecond, true},
		{"1e3", 1000 * time.Second, true},
		{"90s", 90 * time.Second, true},
		{"1h2m", time.Hour + 2*time.Minute, true},
		{"", 0, false},
		{"-1", 0, false},
		{"-1s", 0, false},
		{"Inf", 0, false},
		{"NaN", 0, false},
		{"1e10", 0, false},
		{"ten", 0, false},
	}
	for _, tt := range tests {
		var d seconds
		err := d.Set(tt.in)
		if (err == nil) != tt.ok || time.Duration(d) != tt.want {
			t.Errorf("Set(%q) = %v, %v; want %v, ok %v", tt.in, time.Duration(d), err, tt.want, tt.ok)
		}
	}
	if got := seconds(1500 * time.Millisecond).String(); got != "1.5" {
		t.Errorf("String() = %q, want 1.5", got)
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"localhost:5900", "[::1]:5900", "::1:5900", "h:0", "h:65536", ":1", "x", "[::1]", "[]:1", "a:b:c:1", "0]:1", "[[::1]]:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		target, err := parseTarget(s)
		if err != nil {
			return
		}
		host, port, err := net.SplitHostPort(target)
		if err != nil {
			t.Fatalf("parseTarget(%q) = %q, which net.SplitHostPort refuses: %v", s, target, err)
		}
		if p, ok := parsePort(port); !ok || p == 0 || host == "" {
			t.Fatalf("parseTarget(%q) = %q: bad host or port", s, target)
		}
		network, addr, err := parseListen(s, false)
		if err != nil {
			t.Fatalf("parseListen(%q) refused what parseTarget accepted: %v", s, err)
		}
		if network != "tcp" || addr != target {
			t.Fatalf("parseListen(%q) = %s %s, want tcp %s", s, network, addr, target)
		}
	})
}

// FuzzParseArgs feeds command lines (words separated by NUL) through the
// whole parser: it must not panic, and every error must be a usage error.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"8080\x00localhost:5900",
		"-6\x008080\x00[::1]:5900\x00--heartbeat=30",
		"8080\x00h:1\x00--cert\x00x",
		"--timeout\x001e300\x008080\x00h:1",
		"8080\x00--\x00cmd",
		"--help",
		"::1:0\x00::1:1\x00-v\x00--log-level\x00trace",
	} {
		f.Add(s, "WSBRIDGE_HEARTBEAT=5")
	}
	f.Fuzz(func(t *testing.T, args, env string) {
		_, err := parseArgs(strings.Split(args, "\x00"), strings.Split(env, "\x00"))
		if err == nil {
			return
		}
		if _, ok := errors.AsType[*usageError](err); !ok {
			t.Fatalf("parseArgs(%q, %q): %v is not a usage error", args, env, err)
		}
	})
}

func TestParseArgsRouting(t *testing.T) {
	abs, err := filepath.Abs("tokens.conf")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args, env []string
		check     func(t *testing.T, s *settings)
	}{
		{"token plugin without target", []string{"--token-plugin", "TokenFile", "--token-source", "/etc/tokens", "8080"}, nil, func(t *testing.T, s *settings) {
			if s.TokenPlugin != "TokenFile" || s.TokenSource != "/etc/tokens" || s.target != "" || s.listenAddr != "0.0.0.0:8080" {
				t.Errorf("got plugin %q source %q target %q listen %q, want TokenFile /etc/tokens \"\" 0.0.0.0:8080",
					s.TokenPlugin, s.TokenSource, s.target, s.listenAddr)
			}
		}},
		{"token plugin from env", []string{"8080"}, []string{"WSBRIDGE_TOKEN_PLUGIN=TokenRedis", "WSBRIDGE_TOKEN_SOURCE=redis:6379"}, func(t *testing.T, s *settings) {
			if s.TokenPlugin != "TokenRedis" || s.TokenSource != "redis:6379" || s.target != "" {
				t.Errorf("got plugin %q source %q target %q, want TokenRedis redis:6379 \"\"", s.TokenPlugin, s.TokenSource, s.target)
			}
		}},
		{"--host-token with a plugin", []string{"--token-plugin", "TokenFile", "--token-source", "x", "--host-token", "8080"}, nil, func(t *testing.T, s *settings) {
			if !s.HostToken {
				t.Errorf("HostToken false, want true")
			}
		}},
		{"--target-config", []string{"--target-config", "tokens.conf", "8080"}, nil, func(t *testing.T, s *settings) {
			if s.TokenPlugin != "TokenFile" || s.TokenSource != abs {
				t.Errorf("got plugin %q source %q, want TokenFile %q", s.TokenPlugin, s.TokenSource, abs)
			}
		}},
		{"WSBRIDGE_TARGET_CONFIG", []string{"8080"}, []string{"WSBRIDGE_TARGET_CONFIG=tokens.conf"}, func(t *testing.T, s *settings) {
			if s.TokenPlugin != "TokenFile" || s.TokenSource != abs {
				t.Errorf("got plugin %q source %q, want TokenFile %q", s.TokenPlugin, s.TokenSource, abs)
			}
		}},
		{"--unix-target takes the target's place", []string{"--unix-target", "/run/vnc.sock", "8080"}, nil, func(t *testing.T, s *settings) {
			if s.UnixTarget != "/run/vnc.sock" || s.target != "" || s.listenAddr != "0.0.0.0:8080" {
				t.Errorf("got unix target %q target %q listen %q, want /run/vnc.sock \"\" 0.0.0.0:8080", s.UnixTarget, s.target, s.listenAddr)
			}
		}},
		{"--unix-listen makes the positional the target", []string{"--unix-listen", "/run/ws.sock", "h:5900"}, nil, func(t *testing.T, s *settings) {
			if s.listenNetwork != "unix" || s.listenAddr != "/run/ws.sock" || s.target != "h:5900" || s.unixMode != 0o600 {
				t.Errorf("got listen %s %s target %q mode %v, want unix /run/ws.sock h:5900 0600", s.listenNetwork, s.listenAddr, s.target, s.unixMode)
			}
		}},
		{"--unix-listen-mode", []string{"--unix-listen", "/run/ws.sock", "--unix-listen-mode", "0660", "h:5900"}, nil, func(t *testing.T, s *settings) {
			if s.unixMode != 0o660 {
				t.Errorf("mode %v, want 0660", s.unixMode)
			}
		}},
		{"--unix-listen with a token plugin", []string{"--unix-listen", "/run/ws.sock", "--token-plugin", "TokenFile", "--token-source", "x"}, nil, func(t *testing.T, s *settings) {
			if s.listenNetwork != "unix" || s.target != "" {
				t.Errorf("got listen %s target %q, want unix and no target", s.listenNetwork, s.target)
			}
		}},
		{"--allow-target twice", []string{"--allow-target", "10.0.0.0/8:5900-5999", "--allow-target", "[::1]:22", "8080", "h:1"}, nil, func(t *testing.T, s *settings) {
			if got := strings.Join(s.AllowTarget.Values(), " "); got != "10.0.0.0/8:5900-5999 [::1]:22" {
				t.Errorf("allow-target %q, want both", got)
			}
		}},
		{"WSBRIDGE_ALLOW_TARGET", []string{"8080", "h:1"}, []string{"WSBRIDGE_ALLOW_TARGET=10.0.0.0/8:5900, 127.0.0.1:22"}, func(t *testing.T, s *settings) {
			if got := strings.Join(s.AllowTarget.Values(), " "); got != "10.0.0.0/8:5900 127.0.0.1:22" {
				t.Errorf("allow-target %q, want 10.0.0.0/8:5900 127.0.0.1:22", got)
			}
		}},
		{"flags replace env lists", []string{"--allow-target", "c:1", "--trusted-proxy", "10.0.0.1", "--allow-target", "d:2", "8080", "h:1"},
			[]string{"WSBRIDGE_ALLOW_TARGET=a:1,b:2", "WSBRIDGE_TRUSTED_PROXY=10.9.9.9", "WSBRIDGE_ALLOW_ORIGIN=https://a,https://b"}, func(t *testing.T, s *settings) {
				if got := strings.Join(s.AllowTarget.Values(), " "); got != "c:1 d:2" {
					t.Errorf("allow-target %q, want c:1 d:2 (the flags, not the environment)", got)
				}
				if got := strings.Join(s.TrustedProxy.Values(), " "); got != "10.0.0.1" {
					t.Errorf("trusted-proxy %q, want 10.0.0.1", got)
				}
				if got := strings.Join(s.AllowOrigin.Values(), " "); got != "https://a https://b" {
					t.Errorf("allow-origin %q, want the environment's https://a https://b (no flag given)", got)
				}
			}},
		{"auth and limits", []string{"--auth-plugin", "BasicHTTPAuth", "--auth-source", "u:p", "--web-auth", "--max-connections", "100",
			"--max-connections-per-ip", "4", "--handshake-rate", "0.5", "--proxy-protocol", "--trusted-proxy", "10.0.0.0/8", "8080", "h:1"}, nil,
			func(t *testing.T, s *settings) {
				if s.AuthPlugin != "BasicHTTPAuth" || s.AuthSource != "u:p" || !s.WebAuth || s.MaxConnections != 100 ||
					s.MaxConnectionsPerIP != 4 || s.HandshakeRate != 0.5 || !s.ProxyProto {
					t.Errorf("got %+v", s.Config)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseArgs(tt.args, tt.env)
			if err != nil {
				t.Fatalf("parseArgs(%q, %q): %v", tt.args, tt.env, err)
			}
			tt.check(t, s)
		})
	}
}

func TestParseArgsRoutingErrors(t *testing.T) {
	tests := []struct {
		name      string
		args, env []string
		want      string
	}{
		{"token plugin and target", []string{"--token-plugin", "TokenFile", "--token-source", "x", "8080", "h:1"}, nil, "Too many arguments"},
		{"token plugin without listen", []string{"--token-plugin", "TokenFile", "--token-source", "x"}, nil, "Too few arguments"},
		{"--target-config and target", []string{"--target-config", "x", "8080", "h:1"}, nil, "Too many arguments"},
		{"--unix-target and target", []string{"--unix-target", "/s", "8080", "h:1"}, nil, "Too many arguments"},
		{"--unix-listen and two positionals", []string{"--unix-listen", "/s", "8080", "h:1"}, nil, "Too many arguments"},
		{"--unix-listen without target", []string{"--unix-listen", "/s"}, nil, "Too few arguments"},
		{"--unix-listen, plugin and positional", []string{"--unix-listen", "/s", "--token-plugin", "TokenFile", "--token-source", "x", "h:1"}, nil, "Too many arguments"},
		{"--token-source alone", []string{"--token-source", "x", "8080"}, nil, "You must use --token-plugin to use --token-source"},
		{"WSBRIDGE_TOKEN_SOURCE alone", []string{"8080"}, []string{"WSBRIDGE_TOKEN_SOURCE=x"}, "You must use --token-plugin to use --token-source"},
		{"--host-token alone", []string{"--host-token", "8080", "h:1"}, nil, "You must use --token-plugin to use --host-token"},
		{"--compress maybe", []string{"--compress", "maybe", "8080", "h:1"}, nil, "want on or off"},
		{"--compress-level 0", []string{"--compress-level", "0", "8080", "h:1"}, nil, "--compress-level 0: want 1 to 9"},
		{"--legacy-syslog alone", []string{"--legacy-syslog", "8080", "h:1"}, nil, "You must use --syslog to use --legacy-syslog"},
		{"--record-limit negative", []string{"--record-limit", "-1", "8080", "h:1"}, nil, "--record-limit -1"},
		{"--auth-source alone", []string{"--auth-source", "u:p", "8080", "h:1"}, nil, "You must use --auth-plugin to use --auth-source"},
		{"--web-auth alone", []string{"--web-auth", "8080", "h:1"}, nil, "You must use --auth-plugin to use --web-auth"},
		{"--target-config and --token-plugin", []string{"--target-config", "x", "--token-plugin", "TokenFile", "8080"}, nil, "exclude each other"},
		{"--token-plugin and --unix-target", []string{"--token-plugin", "TokenFile", "--token-source", "x", "--unix-target", "/s", "8080"}, nil, "exclude each other"},
		{"bad --unix-listen-mode", []string{"--unix-listen", "/s", "--unix-listen-mode", "rw-rw----", "h:1"}, nil, "--unix-listen-mode"},
		{"--unix-listen-mode not octal", []string{"--unix-listen", "/s", "--unix-listen-mode", "0680", "h:1"}, nil, "--unix-listen-mode"},
		{"--unix-listen-mode too big", []string{"--unix-listen", "/s", "--unix-listen-mode", "01777", "h:1"}, nil, "--unix-listen-mode"},
		{"--proxy-protocol alone", []string{"--proxy-protocol", "8080", "h:1"}, nil, "--proxy-protocol needs --trusted-proxy"},
		{"--allow-target with a comma", []string{"--allow-target", "a:1,b:2", "8080", "h:1"}, nil, "one value per flag"},
		{"bad --max-connections", []string{"--max-connections", "many", "8080", "h:1"}, nil, "max-connections"},
		{"bad --handshake-rate", []string{"--handshake-rate", "fast", "8080", "h:1"}, nil, "handshake-rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseArgs(%q, %q) = %v, want an error containing %q", tt.args, tt.env, err, tt.want)
			}
			if _, ok := errors.AsType[*usageError](err); !ok {
				t.Errorf("error %v is not a usage error", err)
			}
		})
	}
}
