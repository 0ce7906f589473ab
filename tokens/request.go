package tokens

import (
	"net/http"
	"strings"
)

// FromRequest returns the token of an upgrade request, as websockify's
// get_target finds it, and false if there is none.
//
// By default the token is the first non-blank value of the "token" query
// parameter, decoded as Python's parse_qs does: '+' is a space, %XX escapes
// are decoded (malformed ones are kept as they are), pairs are separated by
// '&' only, and a value that is empty before decoding is skipped. Trailing
// newlines are then stripped. The path is ignored: any path may carry it.
//
// With hostToken (--host-token) the token is the whole Host value before the
// first ':' — the full name "vm1.example.com" from "vm1.example.com:6080",
// with no case folding. An IPv6 literal "[::1]:6080" gives "[", as in
// websockify.
//
// An empty token is reported as absent.
func FromRequest(r *http.Request, hostToken bool) (string, bool) {
	var tok string
	if hostToken {
		tok, _, _ = strings.Cut(r.Host, ":")
	} else if r.URL != nil {
		tok = queryToken(r.URL.RawQuery)
	}
	return tok, tok != ""
}

// queryToken returns the first non-blank "token" value of a raw query, with
// trailing newlines stripped.
func queryToken(query string) string {
	// Python's urlparse splits a fragment off; Go's request URI parser
	// leaves it in the query.
	query, _, _ = strings.Cut(query, "#")
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		name, value, ok := strings.Cut(pair, "=")
		if !ok || value == "" {
			continue
		}
		if pyUnquotePlus(name) == "token" {
			return strings.TrimRight(pyUnquotePlus(value), "\n")
		}
	}
	return ""
}

// pyUnquotePlus decodes s as Python's urllib.parse.unquote_plus: '+' becomes
// a space and each well-formed %XX escape its byte; a '%' not followed by
// two hex digits stays as it is. (Python then decodes the bytes as UTF-8,
// replacing invalid sequences; they are kept here, and match no token.)
func pyUnquotePlus(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
