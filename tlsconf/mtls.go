package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/pion/logging"
	"golang.org/x/crypto/acme"
)

// loadClientCAs checks --verify-client and --cafile together and returns
// the pool client certificates must chain to, or nil when not verifying.
// --cafile alone is ignored with a warning, as websockify ignores it.
func loadClientCAs(cfg Config, log logging.LeveledLogger) (*x509.CertPool, error) {
	switch {
	case cfg.VerifyClient && cfg.CAFile == "":
		return nil, errors.New("tlsconf: --verify-client: needs --cafile, the CA that signs client certificates")
	case !cfg.VerifyClient && cfg.CAFile != "":
		log.Warnf("tlsconf: --cafile %s is ignored without --verify-client", cfg.CAFile)
		return nil, nil
	case !cfg.VerifyClient:
		return nil, nil
	}
	pool, err := readCertPool(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: --cafile %s: %w", cfg.CAFile, err)
	}
	return pool, nil
}

// readCertPool reads the PEM certificates of a CA file.
func readCertPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, errors.New("no PEM certificates")
	}
	return pool, nil
}

// requireClientCerts makes conf demand a client certificate chaining to
// pool. An ACME CA checking TLS-ALPN-01 presents none, so hellos offering
// only acme-tls/1 get the same config without client authentication; such
// connections carry no application data (the listener closes them after
// the handshake).
func requireClientCerts(conf *tls.Config, pool *x509.CertPool) {
	conf.ClientAuth = tls.RequireAndVerifyClientCert
	conf.ClientCAs = pool
	if !slices.Contains(conf.NextProtos, acme.ALPNProto) {
		return
	}
	challenge := conf.Clone()
	challenge.ClientAuth = tls.NoClientCert
	challenge.ClientCAs = nil
	conf.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if isACMEChallenge(hello) {
			return challenge, nil
		}
		return nil, nil
	}
}

// isACMEChallenge reports whether a hello is a CA's TLS-ALPN-01 check, as
// autocert decides it.
func isACMEChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
}

// PeerNames returns the identity of a TLS client: the subject Common Name
// and the DNS, email, IP and URI SANs of the leaf of the first chain
// crypto/tls verified, without duplicates. It returns nil for a nil state,
// a plain connection, or a certificate that was not verified (nothing
// unverified is ever reported, so a name here can be trusted as far as
// --cafile is).
func PeerNames(cs *tls.ConnectionState) []string {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return nil
	}
	leaf := cs.VerifiedChains[0][0]
	var names []string
	add := func(n string) {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	add(leaf.Subject.CommonName)
	for _, n := range leaf.DNSNames {
		add(n)
	}
	for _, n := range leaf.EmailAddresses {
		add(n)
	}
	for _, ip := range leaf.IPAddresses {
		add(ip.String())
	}
	for _, u := range leaf.URIs {
		add(u.String())
	}
	return names
}
