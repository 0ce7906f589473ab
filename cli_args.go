package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/caarlos0/env/v11"
	"github.com/pion/logging"
)

// settings is a parsed command line: the Config and what follows from it.
type settings struct {
	Config

	help, version bool

	listenNetwork, listenAddr string      // for net.Listen
	target                    string      // host:port, as net.JoinHostPort writes it; "" with a token plugin or unix target
	unixMode                  os.FileMode // --unix-listen-mode
	activated                 bool        // systemd passed the listening sockets (LISTEN_FDS)
	level                     logging.LogLevel
	env                       map[string]string // the environment, for PION_LOG_*
	unknownEnv                []string          // WSBRIDGE_* names no option has, to warn about
}

// usageError is a mistake on the command line or in the environment;
// main exits with status 2 for it.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// parseArgs reads the environment, then the arguments, in websockify's
// syntax: [options] [source_addr:]source_port target_addr:target_port,
// with options also after and between the positionals.
func parseArgs(args, environ []string) (*settings, error) {
	s := &settings{env: envMap(environ)}
	// A bad variable is reported after the flags are parsed, so that
	// --help and --version still work.
	cfg, envErr := env.ParseAsWithOptions[Config](env.Options{Prefix: envPrefix, Environment: s.env})
	s.Config = cfg

	var given []string // unsupported options given as flags
	fs, err := newFlagSet(&s.Config, &s.help, &s.version, &given)
	if err != nil {
		return nil, err
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("wsbridge: %w", err)
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			// websockify's wrap mode: [source_addr:]source_port -- COMMAND.
			return nil, usagef("wsbridge: -- COMMAND (wrap mode): not yet supported by wsbridge")
		}
		if len(rest) == 0 {
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	if s.help || s.version {
		return s, nil
	}
	if envErr != nil {
		return nil, envError(envErr, s.env)
	}
	for _, u := range unsupportedOptions() {
		if s.env[u.env()] != "" {
			return nil, usagef("wsbridge: %s: not yet supported by wsbridge", u.env())
		}
	}
	s.unknownEnv = unknownEnv(s.env)
	if len(given) > 0 {
		return nil, usagef("wsbridge: %s: not yet supported by wsbridge", given[0])
	}
	s.activated = socketActivated(s.env)
	if err := s.positionals(pos); err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	s.level = logging.LogLevel(s.LogLevel)
	if s.Verbose && s.level < logging.LogLevelDebug {
		s.level = logging.LogLevelDebug
	}
	return s, nil
}

// positionals fills Listen and Target from the arguments, left to right,
// keeping what the environment gave for the rest. A single argument is
// the target when only WSBRIDGE_LISTEN is set. As in websockify, a token
// plugin or unix target takes the target's place and --unix-listen the
// listen address's; an argument for either is then one too many. With
// --inetd or socket activation the listening socket is inherited, so a
// single argument is the target; under socket activation a listen
// argument before it is still accepted, and ignored (serve logs it), so
// that one ExecStart= works with and without the .socket unit.
func (s *settings) positionals(pos []string) error {
	if s.TargetConfig != "" {
		if s.TokenPlugin != "" {
			return usagef("wsbridge: --target-config and --token-plugin exclude each other")
		}
		abs, err := filepath.Abs(s.TargetConfig)
		if err != nil {
			return usagef("wsbridge: --target-config: %w", err)
		}
		s.TokenPlugin, s.TokenSource = "TokenFile", abs
	}
	switch {
	case s.TokenSource != "" && s.TokenPlugin == "":
		return usagef("wsbridge: You must use --token-plugin to use --token-source")
	case s.HostToken && s.TokenPlugin == "":
		return usagef("wsbridge: You must use --token-plugin to use --host-token")
	case s.AuthSource != "" && s.AuthPlugin == "":
		return usagef("wsbridge: You must use --auth-plugin to use --auth-source")
	case s.WebAuth && s.AuthPlugin == "":
		return usagef("wsbridge: You must use --auth-plugin to use --web-auth")
	case s.LegacySyslog && s.Syslog == "":
		return usagef("wsbridge: You must use --syslog to use --legacy-syslog")
	case s.RecordLimit < 0:
		return usagef("wsbridge: --record-limit %d: want 0 (the default) or more", s.RecordLimit)
	case s.TokenPlugin != "" && s.UnixTarget != "":
		return usagef("wsbridge: --token-plugin and --unix-target exclude each other")
	case s.Inetd && s.UnixListen != "":
		return usagef("wsbridge: --inetd and --unix-listen exclude each other")
	case s.ProxyProto && len(s.TrustedProxy.Values()) == 0:
		return usagef("wsbridge: --proxy-protocol needs --trusted-proxy (whose headers to believe)")
	}
	needTarget := s.TokenPlugin == "" && s.UnixTarget == ""
	needListen := s.UnixListen == "" && !s.Inetd && !s.activated
	if s.activated && needTarget && len(pos) == 2 {
		s.Listen, pos = pos[0], pos[1:]
	}
	want := 0
	if needTarget {
		want++
	}
	if needListen {
		want++
	}
	if len(pos) > want {
		return usagef("wsbridge: Too many arguments")
	}
	switch {
	case needListen && needTarget && len(pos) == 2:
		s.Listen, s.Target = pos[0], pos[1]
	case needListen && needTarget && len(pos) == 1 && s.Target == "" && s.Listen != "":
		s.Target = pos[0]
	case needListen && len(pos) == 1:
		s.Listen = pos[0]
	case needTarget && len(pos) == 1:
		s.Target = pos[0]
	}
	if (needListen && s.Listen == "") || (needTarget && s.Target == "") {
		return usagef("wsbridge: Too few arguments")
	}
	var err error
	if needListen {
		if s.listenNetwork, s.listenAddr, err = parseListen(s.Listen, s.PreferIPv6); err != nil {
			return err
		}
	} else if s.UnixListen != "" && !s.activated {
		s.listenNetwork, s.listenAddr = "unix", s.UnixListen
		if s.unixMode, err = parseMode(s.UnixListenMode); err != nil {
			return err
		}
	}
	if needTarget {
		s.target, err = parseTarget(s.Target)
	}
	return err
}

// parseMode parses an octal file mode such as 0600.
func parseMode(m string) (os.FileMode, error) {
	v, err := strconv.ParseUint(m, 8, 32)
	if err != nil || v > 0o777 {
		return 0, usagef("wsbridge: --unix-listen-mode %q: want an octal mode such as 0600", m)
	}
	return os.FileMode(v), nil
}

// parseListen turns [source_addr:]source_port into net.Listen arguments.
// It splits at the last ':' and strips [] from the host. An empty host is
// 0.0.0.0 only, as websockify binds it ("tcp4": Go's "tcp" on 0.0.0.0
// would be dual-stack); with ipv6 it is "::", dual-stack on Linux.
func parseListen(s string, ipv6 bool) (network, addr string, err error) {
	host, port := splitLast(s)
	p, ok := parsePort(port)
	if !ok {
		return "", "", usagef("wsbridge: Error parsing listen port %q", port)
	}
	network = "tcp"
	if host == "" {
		host, network = "0.0.0.0", "tcp4"
		if ipv6 {
			host, network = "::", "tcp"
		}
	}
	addr, ok = joinHostPort(host, p)
	if !ok {
		return "", "", usagef("wsbridge: Error parsing listen address %q", s)
	}
	return network, addr, nil
}

// parseTarget checks target_addr:target_port and returns it as
// net.JoinHostPort writes it ("::1:5900" becomes "[::1]:5900").
func parseTarget(s string) (string, error) {
	if !strings.Contains(s, ":") {
		return "", usagef("wsbridge: Error parsing target %q: no port", s)
	}
	host, port := splitLast(s)
	if host == "" {
		return "", usagef("wsbridge: Error parsing target %q: no host", s)
	}
	p, ok := parsePort(port)
	if !ok || p == 0 {
		return "", usagef("wsbridge: Error parsing target port %q: want 1-65535", port)
	}
	addr, ok := joinHostPort(host, p)
	if !ok {
		return "", usagef("wsbridge: Error parsing target %q: bad host", s)
	}
	return addr, nil
}

// joinHostPort joins host and port, and reports whether the result splits
// back into them: a host with a stray bracket would not.
func joinHostPort(host string, port int) (string, bool) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	h, _, err := net.SplitHostPort(addr)
	return addr, err == nil && h == host
}

// parsePort parses a port of decimal digits only (websockify's int()
// also takes leading zeros), 0 to 65535.
func parsePort(s string) (int, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	p, err := strconv.Atoi(s)
	return p, err == nil && p <= 65535
}

// splitLast splits host:port at the last ':' and strips [] around the
// host, as websockify does. Without a ':' it is all port.
func splitLast(s string) (host, port string) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", s
	}
	host, port = s[:i], s[i+1:]
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return host, port
}

// newFlagSet makes the flags for every tagged Config field, each
// defaulting to the field's value (from the environment), plus --help,
// --version and the options that are not supported yet, which append their
// name to given.
func newFlagSet(c *Config, help, version *bool, given *[]string) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("wsbridge", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; --help is ours
	fs.Usage = func() {}

	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		for _, n := range []string{name, f.Tag.Get("short")} {
			if n == "" {
				continue
			}
			switch p := v.Field(i).Addr().Interface().(type) {
			case *bool:
				fs.BoolVar(p, n, *p, f.Tag.Get("usage"))
			case *string:
				fs.StringVar(p, n, *p, f.Tag.Get("usage"))
			case *int:
				fs.IntVar(p, n, *p, f.Tag.Get("usage"))
			case *int64:
				fs.Int64Var(p, n, *p, f.Tag.Get("usage"))
			case *float64:
				fs.Float64Var(p, n, *p, f.Tag.Get("usage"))
			case flag.Value:
				fs.Var(p, n, f.Tag.Get("usage"))
			default:
				return nil, fmt.Errorf("wsbridge: internal error: Config.%s: no flag for type %s", f.Name, f.Type)
			}
		}
	}
	fs.BoolVar(help, "help", false, "print this help and exit")
	fs.BoolVar(help, "h", false, "print this help and exit")
	fs.BoolVar(version, "version", false, "print the version and exit")
	for _, u := range unsupportedOptions() {
		fs.Var(&unsupportedFlag{name: "--" + u.name, isBool: u.value == "", given: given}, u.name, "not yet supported")
		if u.short != "" {
			fs.Var(&unsupportedFlag{name: "-" + u.short, isBool: u.value == "", given: given}, u.short, "not yet supported")
		}
	}
	return fs, nil
}

// unsupportedOption is a websockify option that wsbridge parses, so that
// it can name it in an error, but does not implement yet.
type unsupportedOption struct {
	name, short string
	value       string // the value's placeholder; "" for a switch
}

func unsupportedOptions() []unsupportedOption {
	return []unsupportedOption{
		{name: "key-password", value: "PASSWORD"},
		{name: "daemon", short: "D"},
		{name: "wrap-mode", value: "MODE"},
		{name: "libserver"},
	}
}

// env is the option's environment variable, refused like the flag.
func (u unsupportedOption) env() string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(u.name, "-", "_"))
}

// unsupportedFlag records that an unsupported option was given. Parsing
// goes on, so that --help still wins and the error names the flag itself
// rather than flag's "invalid value" wording.
type unsupportedFlag struct {
	name   string
	isBool bool
	given  *[]string
}

func (f *unsupportedFlag) String() string   { return "" }
func (f *unsupportedFlag) IsBoolFlag() bool { return f.isBool }
func (f *unsupportedFlag) Set(string) error {
	*f.given = append(*f.given, f.name)
	return nil
}

// envMap turns os.Environ's form into a map; the last duplicate wins, as
// in os.Getenv.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// envError names the variable behind a caarlos0/env error, which names
// the struct field.
func envError(err error, m map[string]string) error {
	if pe, ok := errors.AsType[env.ParseError](err); ok {
		if f, ok := reflect.TypeFor[Config]().FieldByName(pe.Name); ok {
			name := envPrefix + f.Tag.Get("env")
			return usagef("wsbridge: %s=%q: %w", name, m[name], pe.Err)
		}
	}
	return usagef("wsbridge: environment: %w", err)
}

// unknownEnv returns the WSBRIDGE_* variables that name no option:
// probably typos, which would otherwise be ignored without a word.
func unknownEnv(m map[string]string) []string {
	known := map[string]bool{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		known[envPrefix+t.Field(i).Tag.Get("env")] = true
	}
	for _, u := range unsupportedOptions() {
		known[u.env()] = true
	}
	var unknown []string
	for k := range m {
		if strings.HasPrefix(k, envPrefix) && !known[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	return unknown
}
