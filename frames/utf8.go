package frames

import "unicode/utf8"

// utf8State validates UTF-8 incrementally. Text messages arrive in frames
// and reads that may split a code point anywhere, so the state between
// calls is the number of continuation bytes still owed and the range the
// next one must fall in. It rejects at the first byte that cannot start or
// continue a valid sequence (fail fast, as Autobahn 6.4 checks): overlongs,
// surrogates and code points above U+10FFFF are cut off by those ranges.
type utf8State struct {
	need   uint8 // continuation bytes still owed
	lo, hi byte  // range of the next continuation byte
}

// feed validates p as the continuation of everything fed before. It
// returns the index of the first invalid byte, or -1.
func (s *utf8State) feed(p []byte) int {
	i := 0
	// Finish a code point left open by the previous call.
	for ; s.need > 0 && i < len(p); i++ {
		if c := p[i]; c < s.lo || c > s.hi {
			return i
		}
		s.need--
		s.lo, s.hi = 0x80, 0xBF
	}
	// The bulk goes through unicode/utf8 (eight or sixteen ASCII bytes at a
	// time, twice as fast as the loop below on other text), up to a cut
	// before a code point that may be left open at the end. The loop takes
	// the rest byte by byte; should the bulk be invalid, it goes over it
	// again to find the first bad byte.
	if end := cutOpen(p); end > i && utf8.Valid(p[i:end]) {
		i = end
	}
	for i < len(p) {
		if s.need > 0 {
			c := p[i]
			if c < s.lo || c > s.hi {
				return i
			}
			i++
			s.need--
			s.lo, s.hi = 0x80, 0xBF
			continue
		}
		c := p[i]
		switch {
		case c < 0x80:
			i++
			continue
		case c < 0xC2: // continuation byte, or overlong 2-byte lead
			return i
		case c < 0xE0:
			s.need, s.lo, s.hi = 1, 0x80, 0xBF
		case c == 0xE0: // no overlong 3-byte forms
			s.need, s.lo, s.hi = 2, 0xA0, 0xBF
		case c == 0xED: // no UTF-16 surrogates
			s.need, s.lo, s.hi = 2, 0x80, 0x9F
		case c < 0xF0:
			s.need, s.lo, s.hi = 2, 0x80, 0xBF
		case c == 0xF0: // no overlong 4-byte forms
			s.need, s.lo, s.hi = 3, 0x90, 0xBF
		case c < 0xF4:
			s.need, s.lo, s.hi = 3, 0x80, 0xBF
		case c == 0xF4: // nothing above U+10FFFF
			s.need, s.lo, s.hi = 3, 0x80, 0x8F
		default:
			return i
		}
		i++
	}
	return -1
}

// cutOpen returns len(p), or the index of a lead byte among the last three
// bytes of p: a point before which, in valid text, no code point is open.
func cutOpen(p []byte) int {
	for k := len(p) - 1; k >= 0 && k >= len(p)-3; k-- {
		switch c := p[k]; {
		case c < 0x80:
			return len(p)
		case c >= 0xC0:
			return k
		}
	}
	return len(p)
}

// complete reports whether the input so far ends on a code point boundary.
func (s *utf8State) complete() bool { return s.need == 0 }

// reset forgets any partial sequence.
func (s *utf8State) reset() { *s = utf8State{} }

// UTF8Checker validates UTF-8 text that arrives in pieces split anywhere,
// failing at the first byte that cannot be part of valid text. The Reader
// checks text messages itself; an extension that decodes a payload
// (permessage-deflate) checks the decoded text with one of these. The zero
// value is ready to use.
type UTF8Checker struct{ s utf8State }

// Feed validates p as the continuation of the text fed before. It returns
// the index of the first invalid byte in p, or -1 if there is none.
func (c *UTF8Checker) Feed(p []byte) int { return c.s.feed(p) }

// Complete reports whether the text fed so far ends on a code point
// boundary: a message must, RFC 6455 §8.1.
func (c *UTF8Checker) Complete() bool { return c.s.complete() }

// Reset forgets the text fed so far.
func (c *UTF8Checker) Reset() { c.s.reset() }
