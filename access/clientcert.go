package access

import (
	"net/http"
	"slices"
	"strings"
)

// clientCertCN is websockify's ClientCertCNAuth, reading identity only
// from the TLS state Go verified.
type clientCertCN []string

// newClientCertCN builds ClientCertCNAuth from its space-separated source.
func newClientCertCN(source string) (clientCertCN, error) {
	list, err := splitSource("ClientCertCNAuth", source)
	return clientCertCN(list), err
}

// Authenticate implements Authenticator. The client's identity is the leaf
// of the first chain crypto/tls verified (r.TLS.VerifiedChains[0][0]); a
// request over plain HTTP, or with a certificate that was not verified
// (tls.RequestClientCert), gets 403. The request is allowed when the
// leaf's subject Common Name is listed exactly (as websockify checks it),
// or, since modern certificates often carry names only there, when one of
// its DNS SANs (compared case-insensitively) or email SANs is listed.
//
// Headers are never consulted: websockify 0.10 trusted a client-sent
// SSL_CLIENT_S_DN_CN header, so anyone could claim any name.
func (c clientCertCN) Authenticate(r *http.Request) error {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return deny(http.StatusForbidden, nil)
	}
	leaf := r.TLS.VerifiedChains[0][0]
	if leaf.Subject.CommonName != "" && slices.Contains(c, leaf.Subject.CommonName) {
		return nil
	}
	for _, name := range c {
		if slices.ContainsFunc(leaf.DNSNames, func(d string) bool { return strings.EqualFold(d, name) }) ||
			slices.Contains(leaf.EmailAddresses, name) {
			return nil
		}
	}
	return deny(http.StatusForbidden, nil)
}
