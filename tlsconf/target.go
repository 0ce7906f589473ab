package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/pion/logging"
)

// TargetConfig holds the flags for TLS from the bridge to the target.
// The zero value means plain TCP to the target.
type TargetConfig struct {
	// Enabled is --ssl-target: wrap every target connection in TLS.
	// False leaves them plain; the other fields then are errors.
	Enabled bool

	// CAFile is --target-ca: PEM certificates trusted for the target's
	// certificate instead of the system roots, for targets with a private
	// CA or a self-signed certificate. Empty means the system roots.
	CAFile string

	// ServerName is --target-server-name: the name sent as SNI and checked
	// against the target's certificate. Empty means the host part of the
	// dialled address (an IP address is then checked against the IP SANs
	// and sent without SNI). Needed for unix-socket targets.
	ServerName string

	// Insecure is --target-insecure: skip verifying the target's
	// certificate (websockify 0.10's behaviour). Anyone on the path to the
	// target can then read and change the traffic; a warning is logged
	// at start. It cannot be combined with CAFile.
	Insecure bool

	// LoggerFactory makes the "tlsconf" logger. Nil means
	// logging.NewDefaultLoggerFactory().
	LoggerFactory logging.LoggerFactory
}

// TargetTLS does the TLS client side towards targets. A nil *TargetTLS
// (what NewTargetTLS returns when TLS is off) leaves dials unchanged.
type TargetTLS struct {
	conf *tls.Config // template: roots, ServerName, MinVersion
}

// NewTargetTLS checks tc and loads its CA file. It returns nil, nil when
// tc.Enabled is false and nothing else is set.
func NewTargetTLS(tc TargetConfig) (*TargetTLS, error) {
	if !tc.Enabled {
		switch {
		case tc.CAFile != "":
			return nil, fmt.Errorf("tlsconf: --target-ca %s: needs --ssl-target", tc.CAFile)
		case tc.ServerName != "":
			return nil, fmt.Errorf("tlsconf: --target-server-name %s: needs --ssl-target", tc.ServerName)
		case tc.Insecure:
			return nil, errors.New("tlsconf: --target-insecure: needs --ssl-target")
		}
		return nil, nil
	}
	if tc.Insecure && tc.CAFile != "" {
		return nil, fmt.Errorf("tlsconf: --target-insecure: conflicts with --target-ca %s (nothing would be verified against it)", tc.CAFile)
	}
	if _, _, err := net.SplitHostPort(tc.ServerName); err == nil {
		return nil, fmt.Errorf("tlsconf: --target-server-name %s: a name, without a port", tc.ServerName)
	}
	conf := &tls.Config{
		ServerName:         tc.ServerName,
		InsecureSkipVerify: tc.Insecure,
		MinVersion:         tls.VersionTLS12,
	}
	if tc.CAFile != "" {
		pool, err := readCertPool(tc.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: --target-ca %s: %w", tc.CAFile, err)
		}
		conf.RootCAs = pool
	}
	if tc.Insecure {
		lf := tc.LoggerFactory
		if lf == nil {
			lf = logging.NewDefaultLoggerFactory()
		}
		lf.NewLogger("tlsconf").Warnf("tlsconf: --target-insecure: target certificates are not verified; anyone on the path to the target can read and change the traffic")
	}
	return &TargetTLS{conf: conf}, nil
}

// Wrap returns a dial function that dials with dial and then does a TLS
// client handshake, bounded by ctx (give ctx a deadline: a target that
// accepts and says nothing otherwise holds the dial). The certificate is
// checked against the roots and the server name (see TargetConfig) unless
// Insecure. On failure the raw conn is closed and the error, prefixed
// "tlsconf: target ADDR:", wraps the handshake or verification error. The
// conn returned is a TLS conn whose CloseWrite sends close_notify and then
// half-closes the underlying connection when it can. A nil t returns dial
// itself.
func (t *TargetTLS) Wrap(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if t == nil {
		return dial
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conf := t.conf.Clone()
		if conf.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil && !conf.InsecureSkipVerify {
				return nil, fmt.Errorf("tlsconf: target %s: no server name to verify; set --target-server-name", addr)
			}
			conf.ServerName = host
		}
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(raw, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tlsconf: target %s: %w", addr, err)
		}
		return &targetConn{Conn: tc}, nil
	}
}

// targetConn is a client TLS conn whose CloseWrite reaches TCP too.
type targetConn struct {
	*tls.Conn
}

var _ net.Conn = (*targetConn)(nil)

// CloseWrite sends close_notify, which a TLS peer reads as EOF, and then
// half-closes the underlying conn, for peers that wait for a FIN. Reading
// continues to work.
func (c *targetConn) CloseWrite() error {
	err := c.Conn.CloseWrite()
	if cw, ok := c.NetConn().(interface{ CloseWrite() error }); ok {
		err = errors.Join(err, cw.CloseWrite())
	}
	return err
}
