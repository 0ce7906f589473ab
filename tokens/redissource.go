package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// redisConfig is a parsed TokenRedis token source.
type redisConfig struct {
	addr      string // host:port
	db        int
	password  string // "" = none
	namespace string // "" = none; keys are "namespace:token"
}

// redisSourceForm is the token source syntax, for error messages.
const redisSourceForm = "host[:port[:db[:password[:namespace]]]]"

// parseRedisSource parses websockify's TokenRedis token source,
// host[:port[:db[:password[:namespace]]]]: port 6379 and db 0 when empty or
// absent, no password or namespace when empty or absent. As in websockify
// 0.13, a field may be wrapped in double quotes to hold colons
// (`my-host::::"first-ns:second-ns"`, `"::1":6380`). Errors never repeat the
// source, which may hold the password.
func parseRedisSource(src string) (redisConfig, error) {
	fields := splitSourceArgs(src)
	if len(fields) > 5 {
		return redisConfig{}, fmt.Errorf("tokens: TokenRedis: token source has %d fields, want %s", len(fields), redisSourceForm)
	}
	fields = append(fields, make([]string, 5-len(fields))...)
	host, port, db := fields[0], fields[1], fields[2]
	if host == "" {
		return redisConfig{}, fmt.Errorf("tokens: TokenRedis: empty host in token source, want %s", redisSourceForm)
	}
	if port == "" {
		port = "6379"
	}
	p, err := parsePort(port)
	if err != nil {
		return redisConfig{}, fmt.Errorf("tokens: TokenRedis: token source: %w", err)
	}
	n := 0
	if db != "" {
		n, err = strconv.Atoi(db)
		if err != nil || n < 0 || strings.ContainsAny(db, "+-") {
			return redisConfig{}, fmt.Errorf("tokens: TokenRedis: token source: db %q is not a number from 0 up", db)
		}
	}
	return redisConfig{
		addr:      net.JoinHostPort(host, strconv.Itoa(p)),
		db:        n,
		password:  fields[3],
		namespace: fields[4],
	}, nil
}

// splitSourceArgs splits src at ':' except inside a field wrapped whole in
// double quotes, as websockify's parse_source_args (0.13) does with its
// regex: a field is quoted when it starts with '"' and the next '"' (at
// least one character later) ends the field, before a ':' or the end.
// Otherwise quotes are ordinary characters.
func splitSourceArgs(src string) []string {
	var fields []string
	pos := 0
	for {
		if q, ok := quotedField(src[pos:]); ok {
			fields = append(fields, q)
			pos += len(q) + 2
		} else if i := strings.IndexByte(src[pos:], ':'); i >= 0 {
			fields = append(fields, src[pos:pos+i])
			pos += i
		} else {
			return append(fields, src[pos:])
		}
		if pos >= len(src) {
			return fields
		}
		pos++ // the ':'
	}
}

// quotedField returns the content of a quoted field at the start of s.
func quotedField(s string) (string, bool) {
	if len(s) < 3 || s[0] != '"' {
		return "", false
	}
	end := strings.IndexByte(s[1:], '"') + 1
	if end < 2 || (end+1 < len(s) && s[end+1] != ':') {
		return "", false
	}
	return s[1:end], true
}

// parseRedisValue parses a TokenRedis value: stripped, either JSON
// {"host": "h:p"} (when it starts with '{') or plain h:p. websockify splits
// h:p on every ':'; here the host may be an IPv6 address, "[::1]:5900", and
// "unix_socket:PATH" names a unix socket as in the other plugins.
func parseRedisValue(v string) (Target, error) {
	v = strings.TrimFunc(v, isPySpace)
	if !strings.HasPrefix(v, "{") {
		return parseTarget(v)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		return Target{}, fmt.Errorf("bad JSON: %w", err)
	}
	raw, ok := obj["host"]
	if !ok {
		return Target{}, errors.New(`JSON without a "host" key`)
	}
	var host string
	if err := json.Unmarshal(raw, &host); err != nil {
		return Target{}, errors.New(`JSON "host" is not a string`)
	}
	return parseTarget(host)
}
