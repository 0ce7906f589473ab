package access

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNewAuthNames(t *testing.T) {
	tests := []struct {
		plugin, source string
		wantErr        string // "" = no error
	}{
		{"BasicHTTPAuth", "u:p", ""},
		{"websockify.auth_plugins.BasicHTTPAuth", "u:p", ""},
		{"ExpectOrigin", "https://a.example", ""},
		{"websockify.auth_plugins.ExpectOrigin", "https://a.example https://b.example", ""},
		{"ClientCertCNAuth", "alice bob", ""},
		{"websockify.auth_plugins.ClientCertCNAuth", "alice", ""},
		{"BasicHTTPAuth", "", "user:password"},
		{"BasicHTTPAuth", "nocolon", "user:password"},
		{"BasicHTTPAuth", ":pass", "user:password"},
		{"ExpectOrigin", "  ", "ExpectOrigin needs --auth-source"},
		{"ClientCertCNAuth", "", "ClientCertCNAuth needs --auth-source"},
		{"BasicHTTPAuthFile", "", "needs --auth-source FILE"},
		{"BasicHTTPAuthFile", "/nonexistent/htpasswd", "no such file"},
		{"mymodule.MyAuth", "x", "unknown auth plugin \"mymodule.MyAuth\" (known: BasicHTTPAuth, BasicHTTPAuthFile, ClientCertCNAuth, ExpectOrigin)"},
		{"", "x", "unknown auth plugin"},
		{"basichttpauth", "u:p", "unknown auth plugin"},
	}
	for _, tt := range tests {
		t.Run(tt.plugin+"/"+tt.source, func(t *testing.T) {
			a, err := NewAuth(tt.plugin, tt.source)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.wantErr == "" && a == nil:
				t.Fatal("got nil Authenticator, want one")
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			case err != nil && !strings.HasPrefix(err.Error(), "access: "):
				t.Fatalf("got error %q, want the access: prefix", err)
			}
		})
	}
}

// authFunc adapts a function to Authenticator.
type authFunc func(*http.Request) error

func (f authFunc) Authenticate(r *http.Request) error { return f(r) }

func TestAll(t *testing.T) {
	var calls []string
	allow := func(name string) Authenticator {
		return authFunc(func(*http.Request) error { calls = append(calls, name); return nil })
	}
	refuse := func(name string, status int) Authenticator {
		return authFunc(func(*http.Request) error { calls = append(calls, name); return deny(status, nil) })
	}
	tests := []struct {
		name       string
		auths      []Authenticator
		wantStatus int // 0 = allowed
		wantCalls  string
	}{
		{"none", nil, 0, ""},
		{"nil skipped", []Authenticator{nil, allow("a"), nil}, 0, "a"},
		{"all pass", []Authenticator{allow("a"), allow("b")}, 0, "a b"},
		{"first refusal wins", []Authenticator{allow("a"), refuse("b", 401), refuse("c", 403)}, 401, "a b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls = nil
			err := All(tt.auths...).Authenticate(httptest.NewRequest("GET", "/", nil))
			status := 0
			if d, ok := errors.AsType[*Denied](err); ok {
				status = d.Status
			} else if err != nil {
				t.Fatalf("got error %v, want a *Denied", err)
			}
			if status != tt.wantStatus {
				t.Errorf("got status %d, want %d", status, tt.wantStatus)
			}
			if got := strings.Join(calls, " "); got != tt.wantCalls {
				t.Errorf("got calls %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestDenied(t *testing.T) {
	d := &Denied{Status: 401, Msg: "Unauthorized", Header: http.Header{"Www-Authenticate": {basicRealm}}}
	if got, want := d.Error(), "access: 401 Unauthorized"; got != want {
		t.Errorf("got Error() %q, want %q", got, want)
	}
	status, h := d.Refusal()
	if status != 401 || h.Get("WWW-Authenticate") != basicRealm {
		t.Errorf("got Refusal() %d %v, want 401 with %s", status, h, basicRealm)
	}
	h.Set("X-Extra", "1")
	if d.Header.Get("X-Extra") != "" {
		t.Error("got the Denied's header changed through Refusal's copy, want it untouched")
	}
	var refusal interface{ Refusal() (int, http.Header) }
	if !errors.As(error(d), &refusal) {
		t.Error("got *Denied not matching the refusal interface, want a match")
	}
}

// authStatus runs a and returns the refusal's status (0 = allowed) and
// headers, failing on an error that is not a *Denied.
func authStatus(t *testing.T, a Authenticator, r *http.Request) (int, http.Header) {
	t.Helper()
	err := a.Authenticate(r)
	if err == nil {
		return 0, nil
	}
	d, ok := errors.AsType[*Denied](err)
	if !ok {
		t.Fatalf("got error %T %v, want a *Denied", err, err)
	}
	return d.Refusal()
}
