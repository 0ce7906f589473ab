package deflate

import "strings"

// element is one entry of a Sec-WebSocket-Extensions list (RFC 6455 §9.1):
// an extension name and its parameters, in order. bad marks an entry whose
// syntax is broken; it is kept so that a client can refuse the response.
type element struct {
	name   string
	params []param
	bad    bool
}

// param is one extension parameter. A quoted value is unquoted.
type param struct {
	name, value string
	hasValue    bool
}

// parseList parses the values of every Sec-WebSocket-Extensions header line:
//
//	extension-list = 1#extension
//	extension      = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
//
// with optional whitespace around separators and empty list entries
// skipped (RFC 9110 §5.6.1). A quoted value must be a token once unquoted.
// A broken entry is skipped up to the next comma outside quotes.
func parseList(values []string) []element {
	var out []element
	for _, v := range values {
		s := scanner{s: v}
		for {
			s.ows()
			if s.end() {
				break
			}
			if s.peek() == ',' {
				s.i++
				continue
			}
			e, ok := s.element()
			if !ok {
				e = element{name: e.name, bad: true}
				s.skip()
			}
			out = append(out, e)
		}
	}
	return out
}

// scanner reads one header value.
type scanner struct {
	s string
	i int
}

func (s *scanner) end() bool  { return s.i >= len(s.s) }
func (s *scanner) peek() byte { return s.s[s.i] }

func (s *scanner) ows() {
	for !s.end() && (s.peek() == ' ' || s.peek() == '\t') {
		s.i++
	}
}

func (s *scanner) token() string {
	j := s.i
	for !s.end() && isTchar(s.peek()) {
		s.i++
	}
	return s.s[j:s.i]
}

// element reads one extension up to the comma after it (or the end).
func (s *scanner) element() (element, bool) {
	var e element
	if e.name = s.token(); e.name == "" {
		return e, false
	}
	for {
		s.ows()
		if s.end() || s.peek() == ',' {
			return e, true
		}
		if s.peek() != ';' {
			return e, false
		}
		s.i++
		s.ows()
		p := param{name: s.token()}
		if p.name == "" {
			return e, false
		}
		s.ows()
		if !s.end() && s.peek() == '=' {
			s.i++
			s.ows()
			p.hasValue = true
			if !s.end() && s.peek() == '"' {
				v, ok := s.quoted()
				if !ok || !isToken(v) {
					return e, false
				}
				p.value = v
			} else if p.value = s.token(); p.value == "" {
				return e, false
			}
		}
		e.params = append(e.params, p)
	}
}

// quoted reads a quoted-string, the scanner sitting on its opening quote,
// and returns it unescaped.
func (s *scanner) quoted() (string, bool) {
	var b strings.Builder
	for s.i++; !s.end(); s.i++ {
		switch c := s.peek(); c {
		case '"':
			s.i++
			return b.String(), true
		case '\\':
			if s.i++; s.end() {
				return "", false
			}
			b.WriteByte(s.peek())
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// skip moves past the rest of a broken entry: up to the next comma that is
// not inside a quoted string.
func (s *scanner) skip() {
	quoted := false
	for ; !s.end(); s.i++ {
		switch s.peek() {
		case '\\':
			if quoted {
				s.i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				return
			}
		}
	}
}

func isToken(v string) bool {
	if v == "" {
		return false
	}
	for i := range len(v) {
		if !isTchar(v[i]) {
			return false
		}
	}
	return true
}

// isTchar reports whether c may appear in a token (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
