package access

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func FuzzParseAllowList(f *testing.F) {
	for _, tt := range allowListParseCases {
		f.Add(tt.spec)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		a, err := ParseAllowList([]string{spec})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "access: --allow-target ") {
				t.Fatalf("got error %q, want it to name the flag", err)
			}
			return
		}
		// String gives specs that parse back to the same rules.
		again, err := ParseAllowList(strings.Fields(a.String()))
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", a.String(), spec, err)
		}
		if again.String() != a.String() {
			t.Fatalf("round trip of %q: got %q, want %q", spec, again.String(), a.String())
		}
		r := a.rules[0]
		if !a.Allowed(r.prefix.Addr(), r.low) || !a.Allowed(r.prefix.Addr(), r.high) {
			t.Fatalf("%q: its own first address and ports refused", spec)
		}
	})
}

func FuzzParseForwarded(f *testing.F) {
	for _, tt := range forwardedCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hops := parseForwarded([]string{s})
		if len(hops) > strings.Count(s, ",")+1 {
			t.Fatalf("%q: got %d hops from %d elements at most", s, len(hops), strings.Count(s, ",")+1)
		}
		checkHops(t, s, hops)
	})
}

func FuzzParseXForwardedFor(f *testing.F) {
	for _, s := range []string{"", "1.2.3.4", "1.2.3.4, 5.6.7.8", "[::1]:80, ::ffff:1.2.3.4", " , x ,", "fe80::1%eth0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		hops := parseXForwardedFor([]string{s})
		if len(hops) > strings.Count(s, ",")+1 {
			t.Fatalf("%q: got %d hops from %d elements at most", s, len(hops), strings.Count(s, ",")+1)
		}
		checkHops(t, s, hops)
	})
}

// checkHops checks that parsed addresses are clean.
func checkHops(t *testing.T, s string, hops []netip.Addr) {
	t.Helper()
	for _, h := range hops {
		if h.IsValid() && (h.Is4In6() || h.Zone() != "") {
			t.Fatalf("%q: got hop %v, want it unmapped and without zone", s, h)
		}
	}
}

func FuzzDecodeBasic(f *testing.F) {
	for _, tt := range basicCases {
		for _, v := range tt.auth {
			f.Add(v)
		}
	}
	f.Fuzz(func(t *testing.T, v string) {
		user, _, ok := decodeBasic(v)
		if ok && bytes.IndexByte(user, ':') >= 0 {
			t.Fatalf("%q: got user %q containing a colon", v, user)
		}
	})
}

func FuzzNormalizeOrigin(f *testing.F) {
	for _, s := range []string{"https://A.example:443", "http://[::1]:80", "null", "https://a.example/x", "ws://h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := normalizeOrigin(s)
		if twice := normalizeOrigin(once); twice != once {
			t.Fatalf("normalizeOrigin not idempotent on %q: %q then %q", s, once, twice)
		}
	})
}

func FuzzParseHtpasswd(f *testing.F) {
	f.Add("alice:$2y$04$abcdefghijklmnopqrstuuJ8rqrZ4R6g1.9N3m6d3HkvF5oxj2y6O\n# c\n\n")
	f.Add("bob:$apr1$x$y\n")
	f.Add(":\n")
	f.Fuzz(func(t *testing.T, content string) {
		h, err := parseHtpasswd("f", strings.NewReader(content))
		if err == nil && (len(h.hashes) == 0 || h.decoy == nil) {
			t.Fatalf("%q: parsed with no users or no decoy", content)
		}
	})
}

// FuzzProxyHeader: whatever the bytes, Header does not panic, a header it
// takes lies within them, and more bytes after a decided answer do not
// change it (an event loop calls it again only while it says
// io.ErrUnexpectedEOF).
func FuzzProxyHeader(f *testing.F) {
	for _, s := range []string{"PROXY TCP4 198.51.100.7 192.0.2.200 40000 443\r\n", "PROXY UNKNOWN\r\n", "PROXY TCP6 ::1 ::1 1 2\r\nGET", "PROX",
		"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\xc6\x33\x64\x07\xc0\x00\x02\xc8\x9c\x40\x01\xbb", "\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00", "GET / HTTP/1.1\r\n", "\r\n"} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, trusted bool) {
		var prefixes []netip.Prefix
		if trusted {
			prefixes = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
		p := NewProxyProtocol(prefixes, time.Second)
		peer := netip.MustParseAddrPort("127.0.0.1:1234")
		client, n, err := p.Header(peer, b)
		if n < 0 || n > len(b) {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
		c2, n2, err2 := p.Header(peer, append(append([]byte(nil), b...), "GET / HTTP/1.1\r\n\r\n"...))
		if c2 != client || n2 != n || (err == nil) != (err2 == nil) {
			t.Fatalf("more bytes changed the answer: %v %d %v, then %v %d %v", client, n, err, c2, n2, err2)
		}
	})
}
