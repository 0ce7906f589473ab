package access

import (
	"net/netip"
	"strings"
)

// parseForwarded returns the for= address of each RFC 7239 forwarded-element
// in the Forwarded header lines, in order. An element without exactly one
// for=, or whose node is "unknown", obfuscated or unparseable, is a zero
// Addr. A syntax error makes the rest of that line a single zero Addr, as
// its element boundaries can no longer be trusted.
func parseForwarded(values []string) []netip.Addr {
	var hops []netip.Addr
	for _, v := range values {
		hops = appendForwarded(hops, v)
	}
	return hops
}

// appendForwarded parses one Forwarded line:
//
//	forwarded-element = [ pair ] *( ";" [ pair ] ), elements split by ","
//	pair              = token "=" ( token / quoted-string )
//
// Unquoted values are read leniently up to the next separator, so the
// common for=[2001:db8::1] (which should be quoted) still parses.
func appendForwarded(hops []netip.Addr, s string) []netip.Addr {
	var (
		forVal  string
		forSeen int
		empty   = true // no pair in this element yet
	)
	endElement := func() {
		if !empty || forSeen > 0 {
			if forSeen == 1 {
				hops = append(hops, parseForwardedNode(forVal))
			} else {
				hops = append(hops, netip.Addr{})
			}
		}
		forVal, forSeen, empty = "", 0, true
	}
	i := 0
	for {
		i = skipOWS(s, i)
		if i == len(s) {
			endElement()
			return hops
		}
		switch s[i] {
		case ',':
			endElement()
			i++
			continue
		case ';':
			i++
			continue
		}
		// A pair: token "=" value.
		j := i
		for j < len(s) && isTchar(s[j]) {
			j++
		}
		if j == i || j == len(s) || s[j] != '=' {
			return append(hops, netip.Addr{})
		}
		name := s[i:j]
		val, next, ok := readForwardedValue(s, j+1)
		if !ok {
			return append(hops, netip.Addr{})
		}
		empty = false
		if strings.EqualFold(name, "for") {
			forVal = val
			forSeen++
		}
		i = skipOWS(s, next)
		if i < len(s) && s[i] != ';' && s[i] != ',' {
			return append(hops, netip.Addr{})
		}
	}
}

// readForwardedValue reads a quoted-string or an unquoted value starting at
// s[i], returning it unescaped and the index after it.
func readForwardedValue(s string, i int) (val string, next int, ok bool) {
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		for i++; i < len(s); i++ {
			switch c := s[i]; c {
			case '"':
				return b.String(), i + 1, true
			case '\\':
				if i++; i == len(s) {
					return "", 0, false
				}
				b.WriteByte(s[i])
			default:
				b.WriteByte(c)
			}
		}
		return "", 0, false // unterminated
	}
	j := i
	for j < len(s) && s[j] != ';' && s[j] != ',' && s[j] != ' ' && s[j] != '\t' && s[j] != '"' {
		j++
	}
	if j == i {
		return "", 0, false
	}
	return s[i:j], j, true
}

// parseForwardedNode parses a for= node: an IPv4 address, a bracketed IPv6
// address, either with an optional port. "unknown" and obfuscated names
// ("_abc") give the zero Addr, as does anything else.
func parseForwardedNode(v string) netip.Addr {
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 || (end+1 < len(v) && v[end+1] != ':') {
			return netip.Addr{}
		}
		ip, err := netip.ParseAddr(v[1:end])
		if err != nil || !ip.Is6() {
			return netip.Addr{}
		}
		return clean(ip)
	}
	host, _, _ := strings.Cut(v, ":")
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() {
		return netip.Addr{}
	}
	return ip
}

// skipOWS skips spaces and tabs from s[i].
func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isTchar reports whether c is an RFC 9110 token character.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
