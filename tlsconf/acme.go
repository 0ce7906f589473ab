package tlsconf

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/net/idna"
)

// acmeState is the ACME side of a Provider.
type acmeState struct {
	m         *autocert.Manager
	transport *http.Transport // to the ACME directory; idle conns closed by Close
	first     string          // served to clients sending no SNI
}

// acmeConfig sets up autocert for cfg.ACMEDomains and returns its config,
// adjusted: Manager.TLSConfig() (which carries acme.ALPNProto for
// TLS-ALPN-01) without "h2", and with a default name for clients that
// send no SNI.
func (p *Provider) acmeConfig(cfg Config) (*tls.Config, error) {
	domains, err := checkACMEDomains(cfg.ACMEDomains)
	if err != nil {
		return nil, err
	}
	dir := cfg.ACMEDirectory
	if dir == "" {
		dir = DefaultACMEDirectory
	}
	if u, err := url.Parse(dir); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("tlsconf: --acme-directory %q: want an https URL", dir)
	}
	if cfg.ACMEEmail != "" && !strings.Contains(cfg.ACMEEmail, "@") {
		return nil, fmt.Errorf("tlsconf: --acme-email %q: not an email address", cfg.ACMEEmail)
	}
	cache, err := acmeCacheDir(cfg.ACMECache)
	if err != nil {
		return nil, err
	}

	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{RootCAs: cfg.ACMERootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cache),
		HostPolicy: autocert.HostWhitelist(domains...),
		Email:      cfg.ACMEEmail,
		Client: &acme.Client{
			DirectoryURL: dir,
			HTTPClient:   &http.Client{Transport: tr},
			UserAgent:    "wsbridge",
		},
	}
	p.acme = &acmeState{m: m, transport: tr, first: domains[0]}
	p.log.Infof("tlsconf: ACME for %s from %s, cache %s", strings.Join(domains, ", "), dir, cache)

	conf := m.TLSConfig()
	conf.GetCertificate = p.acmeCertificate
	conf.NextProtos = []string{"http/1.1", acme.ALPNProto}
	return conf, nil
}

// acmeCertificate is autocert's GetCertificate, except that a client
// sending no SNI (one connecting by IP address) gets the first domain's
// certificate instead of a failed handshake. Other names outside
// ACMEDomains still fail: the HostPolicy refuses them.
func (p *Provider) acmeCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		h := *hello
		h.ServerName = p.acme.first
		hello = &h
	}
	return p.acme.m.GetCertificate(hello)
}

// httpHandler is autocert's HTTP-01 handler, fed the Host without a port:
// autocert checks the whole Host header against its HostPolicy, so a
// challenge reaching a port other than 80 (behind port forwarding, or in
// tests) would be refused.
func (a *acmeState) httpHandler(fallback http.Handler) http.Handler {
	h := a.m.HTTPHandler(fallback)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.Host); err == nil && strings.HasPrefix(r.URL.Path, "/.well-known/acme-challenge/") {
			r = r.Clone(r.Context())
			r.Host = host
		}
		h.ServeHTTP(w, r)
	})
}

// checkACMEDomains normalises the --acme-domain values to lower-case
// ASCII and refuses what cannot be obtained by TLS-ALPN-01 or HTTP-01.
func checkACMEDomains(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, d := range in {
		name, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(d), "."))
		switch {
		case strings.Contains(d, "*"):
			err = fmt.Errorf("wildcards need the DNS-01 challenge, which is not supported")
		case net.ParseIP(strings.Trim(d, "[]")) != nil:
			err = fmt.Errorf("IP addresses are not supported")
		case err != nil:
		case !strings.Contains(name, "."):
			err = fmt.Errorf("not a fully qualified domain name")
		}
		if err != nil {
			return nil, fmt.Errorf("tlsconf: --acme-domain %q: %w", d, err)
		}
		out = append(out, name)
	}
	return out, nil
}

// acmeCacheDir returns the cache directory, created 0700 now so that a
// permission problem shows at start rather than at the first issuance.
func acmeCacheDir(dir string) (string, error) {
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("tlsconf: --acme-cache: no default (%w); give a directory", err)
		}
		dir = filepath.Join(base, "wsbridge", "acme")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("tlsconf: --acme-cache %s: %w", dir, err)
	}
	return dir, nil
}

// checkACMEUnused refuses ACME flags given without --acme-domain.
func checkACMEUnused(cfg Config) error {
	for _, f := range []struct{ flag, value string }{
		{"--acme-email", cfg.ACMEEmail},
		{"--acme-cache", cfg.ACMECache},
		{"--acme-directory", cfg.ACMEDirectory},
	} {
		if f.value != "" {
			return fmt.Errorf("tlsconf: %s %s: needs --acme-domain", f.flag, f.value)
		}
	}
	return nil
}
