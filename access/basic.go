package access

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// basicRealm is the realm websockify's BasicHTTPAuth demands; clients and
// saved browser credentials are keyed on it, so it stays the same.
const basicRealm = `Basic realm="Websockify"`

// basicAuth answers HTTP Basic auth the way websockify's BasicHTTPAuth
// does; check decides whether a decoded user and password are right.
type basicAuth struct {
	check func(user, pass []byte) bool
}

// newBasicAuth builds BasicHTTPAuth from its "user:password" source. Only
// SHA-256 digests are kept, so comparisons take the same time whatever the
// lengths or the first differing byte.
func newBasicAuth(source string) (*basicAuth, error) {
	user, pass, ok := strings.Cut(source, ":")
	if !ok || user == "" {
		return nil, errors.New("access: BasicHTTPAuth needs --auth-source user:password")
	}
	wantUser := sha256.Sum256([]byte(user))
	wantPass := sha256.Sum256([]byte(pass))
	return &basicAuth{check: func(u, p []byte) bool {
		gotUser := sha256.Sum256(u)
		gotPass := sha256.Sum256(p)
		// Both compared, always: & rather than && so a wrong user costs the
		// same as a wrong password.
		return subtle.ConstantTimeCompare(gotUser[:], wantUser[:])&
			subtle.ConstantTimeCompare(gotPass[:], wantPass[:]) == 1
	}}, nil
}

// Authenticate implements Authenticator. Missing credentials or wrong ones
// get 401 with WWW-Authenticate, so a browser asks the user; a header that
// is not Basic, not valid base64 or has no colon gets 403, as in websockify
// (which drops the connection outright on bad base64 padding).
func (b *basicAuth) Authenticate(r *http.Request) error {
	vals := r.Header.Values("Authorization")
	switch {
	case len(vals) == 0 || (len(vals) == 1 && strings.TrimSpace(vals[0]) == ""):
		return demandBasic()
	case len(vals) > 1:
		return deny(http.StatusForbidden, nil) // ambiguous: which one would a proxy have checked?
	}
	user, pass, ok := decodeBasic(vals[0])
	if !ok {
		return deny(http.StatusForbidden, nil)
	}
	if !b.check(user, pass) {
		return demandBasic()
	}
	return nil
}

// demandBasic is the 401 asking for credentials.
func demandBasic() *Denied {
	return deny(http.StatusUnauthorized, http.Header{"Www-Authenticate": {basicRealm}})
}

// decodeBasic splits an Authorization value of scheme Basic (any case, per
// RFC 7617) into user and password. The bytes are returned as sent: UTF-8
// from current browsers, and compared as such.
func decodeBasic(v string) (user, pass []byte, ok bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return nil, nil, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return nil, nil, false
	}
	return bytes.Cut(raw, []byte(":"))
}
