package tlsconf

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
)

// Provider serves the certificates a Config describes. Its methods are
// safe for concurrent use. Close stops its file poller.
type Provider struct {
	log     logging.LeveledLogger
	sslOnly bool
	conf    *tls.Config // template; TLSConfig hands out clones

	// File certificates; src is nil with ACME.
	src      *certSource
	certs    atomic.Pointer[certSet] // read by every handshake
	reloadMu sync.Mutex              // serialises Reload and the poller
	failed   string                  // last failure logged by the poller; under reloadMu

	acme *acmeState // nil with file certificates

	stop     chan struct{} // closed by Close
	stopOnce sync.Once
	wg       sync.WaitGroup // the poller
}

// New checks cfg and loads the certificates (or sets up ACME). Each error
// names the flag at fault ("tlsconf: --cert x.pem: ..."). With file
// certificates and a non-negative ReloadInterval it starts a poller that
// Close stops.
func New(cfg Config) (*Provider, error) {
	lf := cfg.LoggerFactory
	if lf == nil {
		lf = logging.NewDefaultLoggerFactory()
	}
	p := &Provider{log: lf.NewLogger("tlsconf"), sslOnly: cfg.SSLOnly, stop: make(chan struct{})}

	minVersion, err := parseMinVersion(cfg.MinVersion)
	if err != nil {
		return nil, err
	}
	suites, err := parseCiphers(cfg.Ciphers)
	if err != nil {
		return nil, err
	}
	clientCAs, err := loadClientCAs(cfg, p.log)
	if err != nil {
		return nil, err
	}
	if cfg.Key != "" && len(cfg.Certs) == 0 {
		return nil, fmt.Errorf("tlsconf: --key %s: needs --cert", cfg.Key)
	}

	var conf *tls.Config
	switch {
	case len(cfg.Certs) > 0 && len(cfg.ACMEDomains) > 0:
		return nil, fmt.Errorf("tlsconf: --acme-domain %s: cannot be combined with --cert; use one or the other", cfg.ACMEDomains[0])
	case len(cfg.Certs) > 0:
		if err := checkACMEUnused(cfg); err != nil {
			return nil, err
		}
		conf, err = p.fileConfig(cfg)
	case len(cfg.ACMEDomains) > 0:
		conf, err = p.acmeConfig(cfg)
	default:
		err = fmt.Errorf("tlsconf: --cert: no certificate: give --cert or --acme-domain")
	}
	if err != nil {
		return nil, err
	}

	conf.MinVersion = max(conf.MinVersion, minVersion)
	conf.CipherSuites = suites
	if suites != nil && minVersion == tls.VersionTLS13 {
		p.log.Warnf("tlsconf: --ssl-ciphers has no effect with --ssl-version tlsv1_3 (TLS 1.3 suites are fixed)")
	}
	if clientCAs != nil {
		requireClientCerts(conf, clientCAs)
		if !cfg.SSLOnly {
			p.log.Warnf("tlsconf: --verify-client without --ssl-only: plain HTTP connections carry no client certificate and are still served")
		}
	}
	p.conf = conf

	if p.src != nil && cfg.ReloadInterval >= 0 {
		every := cfg.ReloadInterval
		if every == 0 {
			every = DefaultReloadInterval
		}
		p.wg.Go(func() { p.poll(every) }) // the poller; ends when Close closes p.stop
	}
	return p, nil
}

// fileConfig loads the --cert files and returns a config serving them.
func (p *Provider) fileConfig(cfg Config) (*tls.Config, error) {
	p.src = &certSource{certs: cfg.Certs, key: cfg.Key}
	files, sum, err := p.src.read()
	if err != nil {
		return nil, err
	}
	set, err := p.load(files, sum)
	if err != nil {
		return nil, err
	}
	p.certs.Store(set)
	p.log.Infof("tlsconf: loaded certificates: %s", set.describe())
	return &tls.Config{
		GetCertificate: p.fileCertificate,
		// No "h2": WebSocket needs the HTTP/1.1 Upgrade (RFC 8441 aside).
		NextProtos: []string{"http/1.1"},
	}, nil
}

// fileCertificate is GetCertificate for file certificates.
func (p *Provider) fileCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return p.certs.Load().choose(hello), nil
}

// TLSConfig returns a new server config: certificates by SNI (files) or
// from ACME, the --ssl-version minimum, the --ssl-ciphers suites, client
// certificates for --verify-client, and ALPN "http/1.1" (plus
// "acme-tls/1" with ACME) but never "h2", since WebSocket needs HTTP/1.1's
// Upgrade. Certificates are looked up per handshake, so one config keeps
// serving reloaded files. The caller may modify the returned config.
func (p *Provider) TLSConfig() *tls.Config {
	return p.conf.Clone()
}

// HTTPHandler returns the handler for plain HTTP requests: with ACME it
// answers HTTP-01 challenges under /.well-known/acme-challenge/ and passes
// everything else to fallback; otherwise it is fallback. A nil fallback
// means 404 for everything else. With SSLOnly, plain connections never
// reach a handler, so HTTP-01 stays off and only TLS-ALPN-01 is used.
// Calling HTTPHandler is what enables HTTP-01 (after TLS-ALPN-01 fails).
func (p *Provider) HTTPHandler(fallback http.Handler) http.Handler {
	if fallback == nil {
		fallback = http.NotFoundHandler()
	}
	if p.acme == nil || p.sslOnly {
		return fallback
	}
	return p.acme.httpHandler(fallback)
}

// Close stops the certificate poller and waits for it. Listeners made by
// Listener are closed separately. Close is idempotent and returns nil.
func (p *Provider) Close() error {
	p.stopOnce.Do(func() { close(p.stop) })
	p.wg.Wait()
	if p.acme != nil {
		p.acme.transport.CloseIdleConnections()
	}
	return nil
}

// expiryWarnings logs certificates outside their validity period.
func (p *Provider) expiryWarnings(set *certSet, now time.Time) {
	for _, c := range set.list {
		switch {
		case c.Leaf == nil:
		case now.After(c.Leaf.NotAfter):
			p.log.Warnf("tlsconf: certificate for %v expired on %s", certNames(c), c.Leaf.NotAfter.UTC().Format(time.RFC3339))
		case now.Before(c.Leaf.NotBefore):
			p.log.Warnf("tlsconf: certificate for %v is valid only from %s", certNames(c), c.Leaf.NotBefore.UTC().Format(time.RFC3339))
		}
	}
}
