package access

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
)

// basicHeader is the Authorization value for user and pass.
func basicHeader(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// basicCases are the requests every Basic authenticator must answer alike;
// the right credentials are alice / s3cret:with:colons.
var basicCases = []struct {
	name       string
	auth       []string // Authorization header lines
	wantStatus int      // 0 = allowed
}{
	{"right", []string{basicHeader("alice", "s3cret:with:colons")}, 0},
	{"scheme any case", []string{"bAsIc " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret:with:colons"))}, 0},
	{"wrong password", []string{basicHeader("alice", "s3cret")}, 401},
	{"wrong user", []string{basicHeader("mallory", "s3cret:with:colons")}, 401},
	{"password prefix", []string{basicHeader("alice", "s3cret:with:colon")}, 401},
	{"empty credentials", []string{basicHeader("", "")}, 401},
	{"missing", nil, 401},
	{"empty header", []string{""}, 401},
	{"other scheme", []string{"Bearer abc.def"}, 403},
	{"scheme only", []string{"Basic"}, 403},
	{"bad base64", []string{"Basic !!!!"}, 403},
	{"bad padding", []string{"Basic YWxpY2U6eA"}, 403},
	{"no colon", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice"))}, 403},
	{"two headers", []string{basicHeader("alice", "s3cret:with:colons"), basicHeader("alice", "s3cret:with:colons")}, 403},
}

func TestBasicHTTPAuth(t *testing.T) {
	a, err := NewAuth("BasicHTTPAuth", "alice:s3cret:with:colons")
	if err != nil {
		t.Fatal(err)
	}
	runBasicCases(t, a)
}

// runBasicCases checks a against basicCases, including the headers.
func runBasicCases(t *testing.T, a Authenticator) {
	t.Helper()
	for _, tt := range basicCases {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/websockify", nil)
			for _, v := range tt.auth {
				r.Header.Add("Authorization", v)
			}
			status, h := authStatus(t, a, r)
			if status != tt.wantStatus {
				t.Fatalf("got status %d, want %d", status, tt.wantStatus)
			}
			gotWWW := h.Get("WWW-Authenticate")
			wantWWW := ""
			if status == 401 {
				wantWWW = `Basic realm="Websockify"`
			}
			if gotWWW != wantWWW {
				t.Errorf("got WWW-Authenticate %q, want %q", gotWWW, wantWWW)
			}
		})
	}
}

func TestBasicHTTPAuthEmptyPassword(t *testing.T) {
	a, err := NewAuth("BasicHTTPAuth", "bob:")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		pass       string
		wantStatus int
	}{{"", 0}, {"x", 401}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", basicHeader("bob", tt.pass))
		if status, _ := authStatus(t, a, r); status != tt.wantStatus {
			t.Errorf("password %q: got status %d, want %d", tt.pass, status, tt.wantStatus)
		}
	}
}

func TestDecodeBasic(t *testing.T) {
	tests := []struct {
		in               string
		wantUser, wantPw string
		wantOK           bool
	}{
		{basicHeader("a", "b"), "a", "b", true},
		{"  Basic   " + base64.StdEncoding.EncodeToString([]byte("a:b:c")) + "  ", "a", "b:c", true},
		{basicHeader("ü", "ß"), "ü", "ß", true},
		{"Basic", "", "", false},
		{"Digest a=b", "", "", false},
		{"Basic =", "", "", false},
	}
	for _, tt := range tests {
		u, p, ok := decodeBasic(tt.in)
		if ok != tt.wantOK || string(u) != tt.wantUser || string(p) != tt.wantPw {
			t.Errorf("decodeBasic(%q): got %q %q %v, want %q %q %v", tt.in, u, p, ok, tt.wantUser, tt.wantPw, tt.wantOK)
		}
	}
}

// newRequestWithAuth is a GET carrying Basic credentials.
func newRequestWithAuth(user, pass string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", basicHeader(user, pass))
	return r
}
