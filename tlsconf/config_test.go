package tlsconf

import (
	"crypto/tls"
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewErrors: every bad flag is refused by New, naming the flag.
func TestNewErrors(t *testing.T) {
	ca, cert := sameDirCert(t)
	dir := t.TempDir()
	srv := ca.server(t, "localhost")
	other := ca.server(t, "other.test")
	certOnly := writeFile(t, dir, "certonly.pem", srv.certPEM)
	keyOnly := writeFile(t, dir, "keyonly.key", srv.keyPEM)
	wrongKey := writeFile(t, dir, "wrong.key", other.keyPEM)
	garbage := writeFile(t, dir, "garbage.pem", []byte("not pem\n"))
	encrypted := writeFile(t, dir, "encrypted.pem", append(append([]byte{}, srv.certPEM...),
		pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("opaque")})...))
	legacyEncrypted := writeFile(t, dir, "legacy.pem", append(append([]byte{}, srv.certPEM...),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte("opaque")})...))
	twoDir := t.TempDir()
	writeFile(t, twoDir, "a.pem", ca.server(t, "a.test").combined())
	writeFile(t, twoDir, "b.pem", ca.server(t, "b.test").combined())

	for _, tc := range []struct {
		name string
		cfg  Config
		flag string
	}{
		{"nothing", Config{}, "--cert"},
		{"missing cert", Config{Certs: []string{filepath.Join(dir, "nope.pem")}}, "--cert"},
		{"garbage cert", Config{Certs: []string{garbage}}, "--cert"},
		{"cert without key", Config{Certs: []string{certOnly}}, "--cert"},
		{"mismatched key", Config{Certs: []string{certOnly}, Key: wrongKey}, "--cert"},
		{"missing key file", Config{Certs: []string{certOnly}, Key: filepath.Join(dir, "nope.key")}, "--key"},
		{"key without cert", Config{Key: keyOnly}, "--key"},
		{"key with two certs", Config{Certs: []string{twoDir}, Key: keyOnly}, "--key"},
		{"encrypted key", Config{Certs: []string{encrypted}}, "--cert"},
		{"legacy encrypted key", Config{Certs: []string{legacyEncrypted}}, "--cert"},
		{"empty dir", Config{Certs: []string{t.TempDir()}}, "--cert"},
		{"ssl-version", Config{Certs: []string{cert}, MinVersion: "tlsv1_0"}, "--ssl-version"},
		{"ssl-version sslv3", Config{Certs: []string{cert}, MinVersion: "SSLv3"}, "--ssl-version"},
		{"ssl-ciphers keyword", Config{Certs: []string{cert}, Ciphers: "HIGH:!aNULL"}, "--ssl-ciphers"},
		{"ssl-ciphers insecure", Config{Certs: []string{cert}, Ciphers: "ECDHE-RSA-DES-CBC3-SHA"}, "--ssl-ciphers"},
		{"ssl-ciphers unknown", Config{Certs: []string{cert}, Ciphers: "DHE-RSA-AES256-GCM-SHA384"}, "--ssl-ciphers"},
		{"verify-client without cafile", Config{Certs: []string{cert}, VerifyClient: true}, "--verify-client"},
		{"cafile garbage", Config{Certs: []string{cert}, VerifyClient: true, CAFile: garbage}, "--cafile"},
		{"cert and acme", Config{Certs: []string{cert}, ACMEDomains: []string{"a.test"}}, "--acme-domain"},
		{"acme-email without domain", Config{Certs: []string{cert}, ACMEEmail: "a@b.test"}, "--acme-email"},
		{"acme-cache without domain", Config{Certs: []string{cert}, ACMECache: dir}, "--acme-cache"},
		{"acme wildcard", Config{ACMEDomains: []string{"*.a.test"}, ACMECache: t.TempDir()}, "--acme-domain"},
		{"acme single label", Config{ACMEDomains: []string{"localhost"}, ACMECache: t.TempDir()}, "--acme-domain"},
		{"acme IP", Config{ACMEDomains: []string{"127.0.0.1"}, ACMECache: t.TempDir()}, "--acme-domain"},
		{"acme http directory", Config{ACMEDomains: []string{"a.test"}, ACMEDirectory: "http://127.0.0.1/dir", ACMECache: t.TempDir()}, "--acme-directory"},
		{"acme email", Config{ACMEDomains: []string{"a.test"}, ACMEEmail: "nobody", ACMECache: t.TempDir()}, "--acme-email"},
		{"acme cache is a file", Config{ACMEDomains: []string{"a.test"}, ACMECache: garbage}, "--acme-cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.cfg)
			if err == nil {
				p.Close()
				t.Fatalf("New succeeded, want an error naming %s", tc.flag)
			}
			if !strings.HasPrefix(err.Error(), "tlsconf: "+tc.flag) {
				t.Errorf("got %q, want it to start with %q", err, "tlsconf: "+tc.flag)
			}
		})
	}
}

// TestCAFileWithoutVerifyClient: ignored with a warning, as websockify
// ignores it.
func TestCAFileWithoutVerifyClient(t *testing.T) {
	ca, cert := sameDirCert(t)
	caFile := writeFile(t, t.TempDir(), "ca.pem", ca.pem)
	lf, logs := testLogs(t)
	p := newProvider(t, Config{Certs: []string{cert}, CAFile: caFile, LoggerFactory: lf})
	if got := p.TLSConfig().ClientAuth; got != tls.NoClientCert {
		t.Errorf("ClientAuth = %v, want NoClientCert", got)
	}
	if !strings.Contains(logs.String(), "--cafile "+caFile+" is ignored without --verify-client") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}

// TestKeySources: the key may sit in the file, in --key, or beside it.
func TestKeySources(t *testing.T) {
	ca := newCA(t, "test CA")
	srv := ca.server(t, "localhost")
	for _, tc := range []struct {
		name  string
		setup func(dir string) Config
	}{
		{"combined", func(dir string) Config {
			return Config{Certs: []string{writeFile(t, dir, "c.pem", srv.combined())}}
		}},
		{"--key", func(dir string) Config {
			return Config{Certs: []string{writeFile(t, dir, "c.pem", srv.certPEM)}, Key: writeFile(t, dir, "k.pem", srv.keyPEM)}
		}},
		{"sibling", func(dir string) Config {
			writeFile(t, dir, "c.key", srv.keyPEM)
			return Config{Certs: []string{writeFile(t, dir, "c.crt", srv.certPEM)}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.setup(t.TempDir())
			cfg.LoggerFactory, _ = testLogs(t)
			p := newProvider(t, cfg)
			addr := serve(t, p, nil, 0, nil)
			if got := serialSeen(t, addr, &tls.Config{RootCAs: ca.pool(), ServerName: "localhost"}); got.Cmp(srv.leaf.SerialNumber) != 0 {
				t.Errorf("serial %x, want %x", got, srv.leaf.SerialNumber)
			}
		})
	}
}
