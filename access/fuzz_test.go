package access

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
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
