package tlsconf

import (
	"crypto/x509"
	"time"

	"github.com/pion/logging"
)

// Defaults for the zero values of Config and of Listener's timeout.
const (
	// DefaultReloadInterval is how often certificate files are checked for
	// changes when Config.ReloadInterval is zero.
	DefaultReloadInterval = 10 * time.Second

	// DefaultHandshakeTimeout bounds the first byte plus the TLS handshake
	// of an accepted connection when Listener is given zero or less.
	DefaultHandshakeTimeout = 10 * time.Second

	// DefaultACMEDirectory is Let's Encrypt's production directory, used
	// when Config.ACMEDirectory is empty.
	DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"
)

// Config holds the TLS flags. The zero value is invalid: New needs Certs
// or ACMEDomains (the two are exclusive). Every field maps to one flag,
// named in the errors New returns.
type Config struct {
	// Certs are the --cert values: PEM files or directories. A file holds
	// the certificate chain, leaf first, and may hold the private key too
	// (as websockify allows). A directory stands for every *.pem and *.crt
	// file in it, in name order; files there holding only a key are
	// skipped. A certificate file without a key takes it from Key, or else
	// from the file beside it with the extension replaced by ".key".
	//
	// With several certificates the client's SNI name picks one (exact
	// name, then a wildcard); the first certificate is the default for
	// clients sending no or an unknown name. Encrypted keys are refused
	// (--key-password is not implemented).
	Certs []string

	// Key is --key: the private key for a single certificate file. Empty
	// means the key is in the certificate file or beside it. With several
	// certificate files Key is an error, since it could only fit one.
	// If the certificate file holds a key too, Key wins.
	Key string

	// SSLOnly is --ssl-only: plain connections are closed without a reply,
	// as websockify does. False serves TLS and plain HTTP on one port;
	// then credentials sent over plain HTTP travel in clear, and
	// VerifyClient does not protect plain connections.
	SSLOnly bool

	// MinVersion is --ssl-version, the lowest TLS version accepted:
	// "default" or "" (TLS 1.2), "tlsv1_1", "tlsv1_2" or "tlsv1_3".
	// websockify's default is whatever OpenSSL allows (often TLS 1.0 on
	// old systems); wsbridge's is TLS 1.2. tlsv1_1 re-enables a protocol
	// with known weaknesses, for old clients only.
	MinVersion string

	// Ciphers is --ssl-ciphers, the cipher suites for TLS 1.2 and lower,
	// separated by ':': OpenSSL names (ECDHE-RSA-AES128-GCM-SHA256) or Go
	// names (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256). Empty means Go's
	// defaults, the safe choice. OpenSSL keywords (HIGH, !aNULL), unknown
	// names, TLS 1.3 suites and suites Go deems insecure are errors. TLS
	// 1.3 connections ignore the list: Go always offers its three TLS 1.3
	// suites. A list without a suite for the certificate's key type (ECDSA
	// or RSA) makes TLS 1.2 handshakes fail.
	Ciphers string

	// VerifyClient is --verify-client: every TLS client must present a
	// certificate that chains to CAFile, or the handshake fails. False
	// accepts any TLS client. It requires CAFile; see SSLOnly for plain
	// connections.
	VerifyClient bool

	// CAFile is --cafile: PEM certificates trusted for client
	// certificates. Required with VerifyClient; without it, ignored with a
	// warning (as websockify ignores it). websockify falls back to the
	// system roots when it is missing; wsbridge refuses to start instead,
	// since that would let anyone with a publicly issued certificate in.
	CAFile string

	// ACMEDomains are the --acme-domain values: the names certificates
	// are obtained for, from ACMEDirectory, with no files involved. Only
	// these names are served (the autocert HostPolicy); a client that
	// sends no SNI gets the first name's certificate. Using ACME accepts
	// the CA's terms of service. Names need a dot; wildcards and IP
	// addresses are refused (they need DNS-01, which autocert lacks).
	//
	// The CA checks control of a name by connecting to it on port 443
	// (TLS-ALPN-01, answered by the TLS side of Listener) or port 80
	// (HTTP-01, answered by HTTPHandler on the plain side), so the bridge
	// must be reachable there, directly or by port forwarding. A name's
	// first handshake waits for its issuance (seconds; autocert allows up
	// to five minutes) and fails if that outlasts the handshake timeout;
	// the certificate is cached for the next one.
	ACMEDomains []string

	// ACMEEmail is --acme-email, the contact the CA may write to about
	// expiring certificates or problems. Empty registers without a contact.
	ACMEEmail string

	// ACMECache is --acme-cache, the directory that keeps the account key
	// and certificates across restarts (created 0700 if missing). Empty
	// means "wsbridge/acme" under os.UserCacheDir (~/.cache on Linux); give
	// a persistent directory under systemd (StateDirectory=). Losing the
	// cache means new certificates on every start, and Let's Encrypt limits
	// duplicates to five a week.
	ACMECache string

	// ACMEDirectory is --acme-directory, the ACME directory URL (https).
	// Empty means DefaultACMEDirectory (Let's Encrypt production); use
	// Let's Encrypt's staging URL while testing to avoid rate limits.
	ACMEDirectory string

	// ACMERootCAs are the roots trusted for the ACME directory's HTTPS,
	// for a private or test CA. Nil means the system roots.
	ACMERootCAs *x509.CertPool

	// ReloadInterval is how often certificate files are checked for
	// changes (content, or files added to a directory). Zero means
	// DefaultReloadInterval; negative turns polling off, leaving Reload
	// (SIGHUP) as the only way to pick up new files. Not used with ACME,
	// which renews by itself.
	ReloadInterval time.Duration

	// LoggerFactory makes the "tlsconf" logger. Nil means
	// logging.NewDefaultLoggerFactory() (errors only, PION_LOG_* honoured).
	LoggerFactory logging.LoggerFactory
}
