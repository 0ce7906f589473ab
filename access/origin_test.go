package access

import (
	"net/http/httptest"
	"testing"
)

func TestExpectOrigin(t *testing.T) {
	a, err := NewAuth("websockify.auth_plugins.ExpectOrigin", "https://vnc.example.com http://localhost:6080")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		origins    []string
		wantStatus int
	}{
		{"exact", []string{"https://vnc.example.com"}, 0},
		{"second", []string{"http://localhost:6080"}, 0},
		{"missing", nil, 403},
		{"mismatch", []string{"https://evil.example"}, 403},
		{"case differs", []string{"https://VNC.example.com"}, 403}, // exact, as websockify
		{"default port spelled", []string{"https://vnc.example.com:443"}, 403},
		{"empty", []string{""}, 403},
		{"two headers", []string{"https://vnc.example.com", "https://vnc.example.com"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkOrigin(t, a, tt.origins, tt.wantStatus)
		})
	}
}

func TestAllowOrigins(t *testing.T) {
	a := AllowOrigins([]string{"https://VNC.example.com/", "http://localhost:6080", "wss://[2001:DB8::1]:443", "null", "  http://plain.example  "})
	tests := []struct {
		name       string
		origins    []string
		wantStatus int
	}{
		{"exact", []string{"https://vnc.example.com"}, 0},
		{"host case", []string{"https://Vnc.Example.COM"}, 0},
		{"scheme case", []string{"HTTPS://vnc.example.com"}, 0},
		{"default port", []string{"https://vnc.example.com:443"}, 0},
		{"port", []string{"http://localhost:6080"}, 0},
		{"ipv6 default port", []string{"wss://[2001:db8::1]"}, 0},
		{"null", []string{"null"}, 0},
		{"trimmed entry", []string{"http://plain.example:80"}, 0},
		{"missing is not a browser", nil, 0},
		{"other port", []string{"https://vnc.example.com:8443"}, 403},
		{"other scheme", []string{"http://vnc.example.com"}, 403},
		{"port missing", []string{"http://localhost"}, 403},
		{"suffix attack", []string{"https://vnc.example.com.evil.example"}, 403},
		{"prefix attack", []string{"https://evilvnc.example.com"}, 403},
		{"userinfo", []string{"https://vnc.example.com@evil.example"}, 403},
		{"with path", []string{"https://vnc.example.com/x"}, 403},
		{"empty", []string{""}, 403},
		{"two headers", []string{"null", "null"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkOrigin(t, a, tt.origins, tt.wantStatus)
		})
	}
}

func TestAllowOriginsEmptyList(t *testing.T) {
	a := AllowOrigins(nil)
	checkOrigin(t, a, nil, 0)
	checkOrigin(t, a, []string{"https://vnc.example.com"}, 403)
}

// checkOrigin sends origins to a and checks the status, and for a
// refusal its reason.
func checkOrigin(t *testing.T, a Authenticator, origins []string, wantStatus int) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	for _, o := range origins {
		r.Header.Add("Origin", o)
	}
	err := a.Authenticate(r)
	status, _ := authStatus(t, a, r)
	if status != wantStatus {
		t.Fatalf("origins %q: got status %d, want %d", origins, status, wantStatus)
	}
	if status != 0 && err.(*Denied).Msg != "Invalid Origin" {
		t.Errorf("got reason %q, want %q", err.(*Denied).Msg, "Invalid Origin")
	}
}

func TestNormalizeOrigin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://A.example", "https://a.example"},
		{"https://a.example:443", "https://a.example"},
		{"http://a.example:443", "http://a.example:443"},
		{"ws://a.example:80", "ws://a.example"},
		{"http://[::1]:80", "http://[::1]"},
		{"http://[::1]:8080", "http://[::1]:8080"},
		{"null", "null"},
		{"https://a.example/path", "https://a.example/path"},
		{"chrome-extension://abcdef", "chrome-extension://abcdef"},
		{"%zz", "%zz"},
	}
	for _, tt := range tests {
		if got := normalizeOrigin(tt.in); got != tt.want {
			t.Errorf("normalizeOrigin(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
