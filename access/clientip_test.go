package access

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIPReal(t *testing.T) {
	c, err := NewClientIP([]string{"10.0.0.0/8", "192.0.2.1", "fd00::/8", "unix"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		remote    string
		xff       []string
		forwarded []string
		want      string // "" = the zero Addr
	}{
		{"direct", "203.0.113.9:5555", nil, nil, "203.0.113.9"},
		{"untrusted remote spoofs XFF", "203.0.113.9:5555", []string{"198.51.100.1"}, nil, "203.0.113.9"},
		{"untrusted remote spoofs Forwarded", "203.0.113.9:5555", nil, []string{"for=198.51.100.1"}, "203.0.113.9"},
		{"trusted, no header", "10.0.0.1:5555", nil, nil, "10.0.0.1"},
		{"trusted, one hop", "10.0.0.1:5555", []string{"203.0.113.5"}, nil, "203.0.113.5"},
		{"chain with spoofed left", "10.0.0.1:5555", []string{"198.51.100.7, 203.0.113.5, 10.0.0.2"}, nil, "203.0.113.5"},
		{"chain over lines", "10.0.0.1:5555", []string{"198.51.100.7, 203.0.113.5", "192.0.2.1"}, nil, "203.0.113.5"},
		{"all trusted", "10.0.0.1:5555", []string{"10.0.0.3, 10.0.0.2"}, nil, "10.0.0.3"},
		{"empty elements", "10.0.0.1:5555", []string{" , 203.0.113.5 ,, "}, nil, "203.0.113.5"},
		{"ports and brackets", "10.0.0.1:5555", []string{"[2001:db8::5]:443, 10.0.0.2:80"}, nil, "2001:db8::5"},
		{"bare IPv6", "10.0.0.1:5555", []string{"2001:db8::6"}, nil, "2001:db8::6"},
		{"mapped hop", "10.0.0.1:5555", []string{"::ffff:203.0.113.5"}, nil, "203.0.113.5"},
		{"garbage rightmost", "10.0.0.1:5555", []string{"203.0.113.5, garbage"}, nil, "10.0.0.1"},
		{"unknown mid-chain", "10.0.0.1:5555", []string{"198.51.100.7, unknown, 10.0.0.2"}, nil, "10.0.0.2"},
		{"IPv6 remote trusted", "[fd00::1]:5555", []string{"2001:db8::7"}, nil, "2001:db8::7"},
		{"IPv6 remote untrusted", "[2001:db8::1]:5555", []string{"2001:db8::7"}, nil, "2001:db8::1"},
		{"mapped remote trusted", "[::ffff:10.0.0.1]:5555", []string{"203.0.113.5"}, nil, "203.0.113.5"},
		{"zone dropped", "[fe80::1%eth0]:5555", nil, nil, "fe80::1"},
		{"remote without port", "10.0.0.1", []string{"203.0.113.5"}, nil, "203.0.113.5"},
		{"Forwarded", "10.0.0.1:5555", nil, []string{"for=192.0.2.60;proto=http;by=203.0.113.43"}, "192.0.2.60"},
		{"Forwarded quoted IPv6 port", "10.0.0.1:5555", nil, []string{`For="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"Forwarded chain", "10.0.0.1:5555", nil, []string{"for=198.51.100.7, for=203.0.113.5;proto=https", "for=10.0.0.2"}, "203.0.113.5"},
		{"Forwarded quoted v4 port", "10.0.0.1:5555", nil, []string{`for="203.0.113.5:8080"`}, "203.0.113.5"},
		{"Forwarded unknown", "10.0.0.1:5555", nil, []string{"for=198.51.100.7, for=unknown"}, "10.0.0.1"},
		{"Forwarded obfuscated", "10.0.0.1:5555", nil, []string{"for=198.51.100.7, for=_hidden, for=10.0.0.2"}, "10.0.0.2"},
		{"Forwarded no for", "10.0.0.1:5555", nil, []string{"for=198.51.100.7, proto=https"}, "10.0.0.1"},
		{"Forwarded syntax error", "10.0.0.1:5555", nil, []string{`for=198.51.100.7, for="203.0.113.5`}, "10.0.0.1"},
		{"XFF wins over Forwarded", "10.0.0.1:5555", []string{"203.0.113.5"}, []string{"for=198.51.100.1"}, "203.0.113.5"},
		{"empty XFF falls back", "10.0.0.1:5555", []string{""}, []string{"for=198.51.100.1"}, "198.51.100.1"},
		{"unix trusted", "@", []string{"203.0.113.5"}, nil, "203.0.113.5"},
		{"unix trusted, no header", "", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			for _, v := range tt.forwarded {
				r.Header.Add("Forwarded", v)
			}
			got := c.Real(r)
			if want := addrOrZero(tt.want); got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// addrOrZero parses s, with "" the zero Addr.
func addrOrZero(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

func TestClientIPTrustsNoOne(t *testing.T) {
	empty, err := NewClientIP(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*ClientIP{nil, empty} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:1"
		r.Header.Set("X-Forwarded-For", "203.0.113.5")
		if got, want := c.Real(r), netip.MustParseAddr("10.0.0.1"); got != want {
			t.Errorf("got %v, want %v", got, want)
		}
		r.RemoteAddr = "@"
		if got := c.Real(r); got.IsValid() {
			t.Errorf("unix peer: got %v, want the zero Addr", got)
		}
	}
}

func TestNewClientIPErrors(t *testing.T) {
	for _, in := range []string{"10.0.0.0/33", "proxy.example", "", "fe80::1%eth0"} {
		_, err := NewClientIP([]string{"10.0.0.1", in})
		if err == nil || !strings.HasPrefix(err.Error(), "access: --trusted-proxy \""+in+"\"") {
			t.Errorf("NewClientIP(%q): got error %v, want one naming it", in, err)
		}
	}
}

// forwardedCases seed FuzzParseForwarded; want lists the hops, "-" for a
// zero Addr.
var forwardedCases = []struct {
	in   string
	want string
}{
	{"", ""},
	{"for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"},
	{`for="[2001:db8:cafe::17]:4711"`, "2001:db8:cafe::17"},
	{"for=[2001:db8::1]", "2001:db8::1"},
	{"for=192.0.2.43, for=198.51.100.17", "192.0.2.43 198.51.100.17"},
	{"FOR=192.0.2.43 ; proto=https", "192.0.2.43"},
	{"for=unknown", "-"},
	{"for=_gazonk", "-"},
	{`for="_mdn"`, "-"},
	{"proto=https", "-"},
	{"for=1.2.3.4;for=5.6.7.8", "-"},
	{",,for=1.2.3.4,,", "1.2.3.4"},
	{";;", ""},
	{`for="1.2.3.4`, "-"},
	{"for=1.2.3.4, for", "1.2.3.4 -"},
	{"for==1.2.3.4", "-"},
	{"for=1.2.3.4 x=y", "-"},
	{`by="a\"b";for=1.2.3.4`, "1.2.3.4"},
	{"for=2001:db8::1", "-"},
	{`for="[::ffff:1.2.3.4]"`, "1.2.3.4"},
	{"for=[1.2.3.4]", "-"},
	{"for=[2001:db8::1]x", "-"},
	{"for=300.1.1.1", "-"},
}

func TestParseForwarded(t *testing.T) {
	for _, tt := range forwardedCases {
		if got := hopsString(parseForwarded([]string{tt.in})); got != tt.want {
			t.Errorf("parseForwarded(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// hopsString joins hops with spaces, "-" for zero Addrs.
func hopsString(hops []netip.Addr) string {
	s := make([]string, len(hops))
	for i, h := range hops {
		s[i] = "-"
		if h.IsValid() {
			s[i] = h.String()
		}
	}
	return strings.Join(s, " ")
}
