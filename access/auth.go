package access

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Authenticator checks a request: a WebSocket upgrade, or with --web-auth a
// page request. A nil error allows it; otherwise the error is a *Denied
// saying how to answer. Implementations are safe for concurrent use.
type Authenticator interface {
	Authenticate(r *http.Request) error
}

// websockifyPrefix is the module websockify resolves bare plugin names in.
const websockifyPrefix = "websockify.auth_plugins."

// pluginNames lists the plugins NewAuth knows, sorted, for error messages.
func pluginNames() []string {
	return []string{"BasicHTTPAuth", "BasicHTTPAuthFile", "ClientCertCNAuth", "ExpectOrigin"}
}

// NewAuth builds the auth plugin websockify calls plugin (--auth-plugin)
// with its source string (--auth-source). plugin may be bare
// ("BasicHTTPAuth") or dotted as websockify spells it
// ("websockify.auth_plugins.BasicHTTPAuth"); other Python modules cannot be
// loaded. The plugins are:
//
//   - BasicHTTPAuth: source "user:password". HTTP Basic auth, compared in
//     constant time. Missing or wrong credentials get 401 with
//     WWW-Authenticate: Basic realm="Websockify"; another scheme, bad
//     base64 or no colon get 403.
//   - BasicHTTPAuthFile (ours): source names an htpasswd-style file of
//     "user:bcrypt-hash" lines, read once here, so no password sits in argv
//     or the environment. Answers as BasicHTTPAuth.
//   - ExpectOrigin: source is a space-separated list of origins; an Origin
//     header that is missing or not byte-for-byte one of them gets 403
//     Invalid Origin.
//   - ClientCertCNAuth: source is a space-separated list of names; the
//     client must present a certificate that TLS verified, whose subject CN
//     (or a DNS or email SAN) is listed, else 403. Headers such as
//     SSL_CLIENT_S_DN_CN are never read.
//
// An empty source is an error: websockify would start and then refuse every
// client, which only hides the mistake.
func NewAuth(plugin, source string) (Authenticator, error) {
	name := strings.TrimPrefix(plugin, websockifyPrefix)
	switch name {
	case "BasicHTTPAuth":
		return newBasicAuth(source)
	case "BasicHTTPAuthFile":
		return loadBasicAuthFile(source)
	case "ExpectOrigin":
		return newExpectOrigin(source)
	case "ClientCertCNAuth":
		return newClientCertCN(source)
	}
	return nil, fmt.Errorf("access: unknown auth plugin %q (known: %s)", plugin, strings.Join(pluginNames(), ", "))
}

// All returns an Authenticator that asks each of a in order and returns the
// first refusal, so every one must allow the request. nil entries are
// skipped; with none left, every request is allowed.
func All(a ...Authenticator) Authenticator {
	return allOf(slices.DeleteFunc(slices.Clone(a), func(x Authenticator) bool { return x == nil }))
}

// allOf is the Authenticator All returns.
type allOf []Authenticator

// Authenticate implements Authenticator.
func (as allOf) Authenticate(r *http.Request) error {
	for _, a := range as {
		if err := a.Authenticate(r); err != nil {
			return err
		}
	}
	return nil
}

// splitSource splits a space-separated plugin source as Python's
// str.split() does, and refuses an empty one naming the plugin.
func splitSource(plugin, source string) ([]string, error) {
	f := strings.Fields(source)
	if len(f) == 0 {
		return nil, fmt.Errorf("access: %s needs --auth-source (a space-separated list)", plugin)
	}
	return f, nil
}
