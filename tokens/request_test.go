package tokens

import (
	"net/http/httptest"
	"testing"
)

// TestFromRequest checks where the token comes from, as websockify's
// get_target finds it.
func TestFromRequest(t *testing.T) {
	tests := []struct {
		name      string
		target    string // request target
		host      string // Host header; "" = example.com
		hostToken bool
		want      string
		wantOK    bool
	}{
		{"plain", "/?token=abc", "", false, "abc", true},
		{"any path", "/websockify/x?token=abc", "", false, "abc", true},
		{"percent space", "/?token=a%20b", "", false, "a b", true},
		{"plus space", "/?token=a+b", "", false, "a b", true},
		{"first wins", "/?token=x&token=y", "", false, "x", true},
		{"blank skipped as parse_qs", "/?token=&token=y", "", false, "y", true},
		{"newline stripped", "/?token=abc%0A", "", false, "abc", true},
		{"newlines stripped", "/?token=abc%0A%0A", "", false, "abc", true},
		{"only newline", "/?token=%0A", "", false, "", false},
		{"inner newline kept", "/?token=a%0Ab", "", false, "a\nb", true},
		{"empty", "/?token=", "", false, "", false},
		{"no value", "/?token", "", false, "", false},
		{"no query", "/", "", false, "", false},
		{"path is not a token", "/abc", "", false, "", false},
		{"other params", "/?a=1&token=t&b=2", "", false, "t", true},
		{"encoded name", "/?tok%65n=t", "", false, "t", true},
		{"semicolon is not a separator", "/?token=a;b", "", false, "a;b", true},
		{"bad escape kept", "/?token=a%zzb%4", "", false, "a%zzb%4", true},
		{"case of name", "/?Token=t", "", false, "", false},
		{"host token", "/?token=q", "vm1.example.com:6080", true, "vm1.example.com", true},
		{"host token no port", "/", "vm1.example.com", true, "vm1.example.com", true},
		{"host token case kept", "/", "VM1.Example.com:6080", true, "VM1.Example.com", true},
		{"host token IPv6", "/", "[::1]:6080", true, "[", true},
		{"host token ignores query", "/?token=q", "h:1", true, "h", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			got, ok := FromRequest(r, tt.hostToken)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got %q, %t; want %q, %t", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestFromRequestEmptyHost: no Host means no host token.
func TestFromRequestEmptyHost(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = ""
	if got, ok := FromRequest(r, true); ok {
		t.Errorf("got %q, true; want absent", got)
	}
}
