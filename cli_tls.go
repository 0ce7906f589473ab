package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/pion/logging"

	"wsbridge/tlsconf"
)

// websockifyCert is the certificate websockify uses, when it exists in the
// working directory, without being told to.
const websockifyCert = "self.pem"

// newTLS builds the TLS provider from the settings, or returns nil when
// TLS is off: no --cert, no --acme-domain and no ./self.pem.
func newTLS(s *settings, lf logging.LoggerFactory) (*tlsconf.Provider, error) {
	certs := s.Cert.Values()
	domains := s.ACMEDomain.Values()
	if len(certs) == 0 && len(domains) == 0 {
		if _, err := os.Stat(websockifyCert); err == nil {
			certs = []string{websockifyCert} // websockify turns TLS on by itself when it exists
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("wsbridge: %s: %w", websockifyCert, err)
		}
	}
	if len(certs) == 0 && len(domains) == 0 {
		switch {
		case s.SSLOnly:
			return nil, usagef("wsbridge: SSL only and %s not found", websockifyCert)
		case s.VerifyClient, s.Key != "", s.SSLVersion != "", s.SSLCiphers != "":
			return nil, usagef("wsbridge: TLS options need --cert or --acme-domain")
		}
		return nil, nil
	}
	p, err := tlsconf.New(tlsconf.Config{
		Certs:         certs,
		Key:           s.Key,
		SSLOnly:       s.SSLOnly,
		MinVersion:    s.SSLVersion,
		Ciphers:       s.SSLCiphers,
		VerifyClient:  s.VerifyClient,
		CAFile:        s.CAFile,
		ACMEDomains:   domains,
		ACMEEmail:     s.ACMEEmail,
		ACMECache:     s.ACMECache,
		ACMEDirectory: s.ACMEDirectory,
		LoggerFactory: lf,
	})
	if err != nil {
		return nil, fmt.Errorf("wsbridge: %w", err)
	}
	return p, nil
}

// newTargetTLS builds the dial wrapper for --ssl-target, or nil.
func newTargetTLS(s *settings, lf logging.LoggerFactory) (*tlsconf.TargetTLS, error) {
	if !s.SSLTarget {
		if s.TargetCA != "" || s.TargetName != "" || s.TargetInsecure {
			return nil, usagef("wsbridge: --target-ca, --target-server-name and --target-insecure need --ssl-target")
		}
		return nil, nil
	}
	t, err := tlsconf.NewTargetTLS(tlsconf.TargetConfig{
		Enabled:       true,
		CAFile:        s.TargetCA,
		ServerName:    s.TargetName,
		Insecure:      s.TargetInsecure,
		LoggerFactory: lf,
	})
	if err != nil {
		return nil, fmt.Errorf("wsbridge: %w", err)
	}
	return t, nil
}
