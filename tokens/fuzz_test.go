package tokens

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzParseTokenFile: no panic, and every entry is usable: a non-empty token
// and a target that parses back to itself.
func FuzzParseTokenFile(f *testing.F) {
	for _, s := range []string{
		"vm1: 10.0.0.5:5901\n# c\n\nv6: fd00::12:5900",
		"a:\th:1\r\nb: [::1]:2\rc: unix_socket:/x",
		"tok:host:port\na: b: c\n: h:1\nt: h:0",
		"t:\u00a0h:1\nt:\x1fh:1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, errs := parseTokenFile("f", data)
		for _, e := range entries {
			if e.token == "" {
				t.Fatalf("empty token from %q", data)
			}
			back, err := parseTarget(e.target.String())
			if err != nil || back != e.target {
				t.Fatalf("target %+v does not parse back: %+v, %v", e.target, back, err)
			}
		}
		for _, err := range errs {
			if !strings.HasPrefix(err.Error(), "tokens: f:") {
				t.Fatalf("error %q lacks file:line", err)
			}
		}
	})
}

// FuzzParseRedisSource: no panic; a parsed source has a host and a port.
func FuzzParseRedisSource(f *testing.F) {
	for _, s := range []string{"h", "h:6380:1:pw:ns", `h::::"a:b"`, `"::1":6380`, `a:"b`, "h:1:2:3:4:5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		fields := splitSourceArgs(src)
		if len(fields) == 0 {
			t.Fatalf("splitSourceArgs(%q) returned no field", src)
		}
		cfg, err := parseRedisSource(src)
		if err == nil && (cfg.addr == "" || cfg.db < 0) {
			t.Fatalf("parseRedisSource(%q) = %+v", src, cfg)
		}
	})
}

// FuzzParseRedisValue: no panic; a parsed value is a usable target.
func FuzzParseRedisValue(f *testing.F) {
	for _, s := range []string{`{"host": "h:1"}`, "h:1", "[::1]:1", `{"host": 1}`, "{", "unix_socket:/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tg, err := parseRedisValue(v)
		if err == nil && (tg.Network != "tcp" && tg.Network != "unix" || tg.Addr == "") {
			t.Fatalf("parseRedisValue(%q) = %+v", v, tg)
		}
	})
}

// FuzzFromRequest: no panic; a token found is not empty and has no
// trailing newline.
func FuzzFromRequest(f *testing.F) {
	for _, s := range []string{"token=abc", "token=a%20b+c", "token=&token=y", "token=%0A", "a=1&token=%zz", "tok%65n=x#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.RawQuery = q
		tok, ok := FromRequest(r, false)
		if ok != (tok != "") || strings.HasSuffix(tok, "\n") {
			t.Fatalf("FromRequest(%q) = %q, %t", q, tok, ok)
		}
	})
}
