package tokens

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
)

// Target is where a token leads.
type Target struct {
	Network string // "tcp" or "unix"
	Addr    string // host:port (net.JoinHostPort form, IPv6 in brackets) or a socket path
}

// String returns the target as websockify writes it in a token file:
// host:port, or unix_socket:path.
func (t Target) String() string {
	if t.Network == "unix" {
		return unixPrefix + t.Addr
	}
	return t.Addr
}

// unixPrefix marks a unix socket target, as in websockify, whose plugins
// return the pair ("unix_socket", path) for one.
const unixPrefix = "unix_socket:"

// parseTarget parses a target as the token plugins store it: host:port split
// at the last ':' (so "::1:5900" is host ::1), "[::1]:5900" with the brackets
// stripped (websockify fails to resolve that form), or "unix_socket:PATH".
// The port must be a decimal number from 1 to 65535, checked here rather than
// at connect time as websockify does. s must already be trimmed.
func parseTarget(s string) (Target, error) {
	if path, ok := strings.CutPrefix(s, unixPrefix); ok {
		if path == "" {
			return Target{}, errors.New("unix_socket: without a path")
		}
		if strings.IndexByte(path, 0) >= 0 {
			return Target{}, errors.New("NUL in unix socket path")
		}
		return Target{Network: "unix", Addr: path}, nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Target{}, fmt.Errorf("%q: want host:port", s)
	}
	host, port := s[:i], s[i+1:]
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	if err := checkHost(host); err != nil {
		return Target{}, fmt.Errorf("%q: %w", s, err)
	}
	p, err := parsePort(port)
	if err != nil {
		return Target{}, fmt.Errorf("%q: %w", s, err)
	}
	if port[0] != '0' && (s[0] == '[') == strings.Contains(host, ":") {
		return Target{Network: "tcp", Addr: s}, nil // already in JoinHostPort form
	}
	return Target{Network: "tcp", Addr: net.JoinHostPort(host, strconv.Itoa(p))}, nil
}

// checkHost refuses host names that cannot be meant: empty, containing
// brackets left over from a malformed "[v6]" form, blanks or control
// characters. Anything else is left to the resolver at dial time.
func checkHost(host string) error {
	if host == "" {
		return errors.New("empty host")
	}
	for _, r := range host {
		switch {
		case r == '[' || r == ']':
			return errors.New("unbalanced '[' ']' in host")
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return errors.New("blank or control character in host")
		}
	}
	return nil
}

// parsePort parses a decimal port from 1 to 65535. Leading zeros are allowed
// (Python's int() allows them); signs, blanks and other digits are not.
func parsePort(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty port")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("port %q is not a decimal number", s)
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return 0, fmt.Errorf("port %s out of range 1-65535", s)
		}
	}
	if n == 0 {
		return 0, errors.New("port 0 out of range 1-65535")
	}
	return n, nil
}
