package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsbridge/internal/testpeer"
)

// testCA mints certificates for the tests; nothing is checked in.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	return ca
}

// issue returns a certificate for cn (also a DNS name, and 127.0.0.1) as a
// tls.Certificate and as PEM files of chain and key.
func (ca *testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) (tls.Certificate, string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+".key")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certFile, keyFile
}

func (ca *testCA) file(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(f, ca.pem, 0o600)
	return f
}

func TestTLSSamePort(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, "test CA")
	_, certFile, keyFile := ca.issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	target := echoTarget(t)
	b := startBridge(t, "--cert", certFile, "--key", keyFile, "127.0.0.1:0", target)
	wss := &tls.Config{RootCAs: ca.pool, ServerName: "bridge.test"}

	s := b.upgrade(t, wsReq{tls: wss})
	s.echo(t, "over wss")
	p := b.upgrade(t, wsReq{})
	p.echo(t, "over plain ws, same port")

	_, err := b.try(t, wsReq{tls: &tls.Config{RootCAs: ca.pool, ServerName: "bridge.test", MaxVersion: tls.VersionTLS11}})
	if err == nil {
		t.Error("a TLS 1.1 client was served; want the TLS 1.2 minimum")
	}
}

func TestTLSOnly(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, "test CA")
	_, certFile, keyFile := ca.issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	b := startBridge(t, "--cert", certFile, "--key", keyFile, "--ssl-only", "127.0.0.1:0", echoTarget(t))
	if r, err := b.try(t, wsReq{}); err == nil {
		t.Fatalf("plain upgrade with --ssl-only: got %d, want the connection closed", r.status)
	}
	b.upgrade(t, wsReq{tls: &tls.Config{RootCAs: ca.pool, ServerName: "bridge.test"}}).echo(t, "wss only")
}

// TestTLSClientCert checks mTLS and ClientCertCNAuth: the name comes from
// the verified certificate, never from a header.
func TestTLSClientCert(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, "test CA")
	other := newTestCA(t, "other CA")
	_, certFile, keyFile := ca.issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	alice, _, _ := ca.issue(t, "alice", x509.ExtKeyUsageClientAuth)
	mallory, _, _ := ca.issue(t, "mallory", x509.ExtKeyUsageClientAuth)
	forged, _, _ := other.issue(t, "alice", x509.ExtKeyUsageClientAuth)
	b := startBridge(t, "--cert", certFile, "--key", keyFile, "--ssl-only", "--verify-client", "--cafile", ca.file(t),
		"--auth-plugin", "ClientCertCNAuth", "--auth-source", "alice bob", "127.0.0.1:0", echoTarget(t))
	with := func(c *tls.Certificate) *tls.Config {
		cfg := &tls.Config{RootCAs: ca.pool, ServerName: "bridge.test"}
		if c != nil {
			cfg.Certificates = []tls.Certificate{*c}
		}
		return cfg
	}
	b.upgrade(t, wsReq{tls: with(&alice)}).echo(t, "alice")
	b.refuse(t, wsReq{tls: with(&mallory), header: http.Header{"Ssl_client_s_dn_cn": {"alice"}}}, http.StatusForbidden, "")
	for name, c := range map[string]*tls.Certificate{"no certificate": nil, "certificate from another CA": &forged} {
		if r, err := b.try(t, wsReq{tls: with(c)}); err == nil {
			t.Errorf("%s: got %d, want the TLS handshake refused", name, r.status)
		}
	}
}

// TestTLSTarget bridges to a TLS target verified with --target-ca.
func TestTLSTarget(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t, "target CA")
	cert, _, _ := ca.issue(t, "vnc.test", x509.ExtKeyUsageServerAuth)
	srvConf := &tls.Config{Certificates: []tls.Certificate{cert}}
	target := testpeer.TCP(t, func(c *net.TCPConn) {
		tc := tls.Server(c, srvConf)
		defer tc.Close()
		buf := make([]byte, 4096)
		for {
			n, err := tc.Read(buf)
			if n > 0 {
				tc.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	})
	b := startBridge(t, "--ssl-target", "--target-ca", ca.file(t), "--target-server-name", "vnc.test", "127.0.0.1:0", target)
	b.upgrade(t, wsReq{}).echo(t, "to a TLS target")

	bad := startBridge(t, "--ssl-target", "--target-server-name", "vnc.test", "127.0.0.1:0", target)
	r, err := bad.try(t, wsReq{})
	if err != nil {
		t.Fatal(err)
	}
	if r.sess == nil {
		t.Fatalf("got %d, want 101 then Close 1011", r.status)
	}
	bad.waitLog(t, "certificate")
}

// TestTLSStartErrors checks that TLS options that cannot work stop start-up
// with websockify's wording or one naming the flag.
func TestTLSStartErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ssl-only"}, "SSL only and self.pem not found"},
		{[]string{"--verify-client"}, "TLS options need --cert or --acme-domain"},
		{[]string{"--target-insecure"}, "need --ssl-target"},
		{[]string{"--cert", "/nonexistent.pem"}, "--cert"},
		{[]string{"--cert", "/nonexistent.pem", "--ssl-version", "sslv3"}, "--ssl-version"},
	} {
		args := append(tc.args, "127.0.0.1:0", "127.0.0.1:1")
		err := run(t.Context(), runEnv{Args: args, Stdout: io.Discard, Stderr: io.Discard})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: got %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}
