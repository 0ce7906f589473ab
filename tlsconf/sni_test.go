package tlsconf

import (
	"crypto/tls"
	"slices"
	"testing"
)

func TestSNI(t *testing.T) {
	ca := newCA(t, "test CA")
	a, b, w := ca.server(t, "a.test"), ca.server(t, "b.test", "B2.test"), ca.server(t, "*.w.test")

	files := t.TempDir()
	dir := t.TempDir()
	writeFile(t, dir, "1-a.pem", a.combined())
	writeFile(t, dir, "2-b.crt", b.certPEM)
	writeFile(t, dir, "2-b.key", b.keyPEM)
	writeFile(t, dir, "3-w.pem", w.certPEM)
	writeFile(t, dir, "3-w-key.pem", w.keyPEM) // key-only .pem: skipped...
	writeFile(t, dir, "3-w.key", w.keyPEM)     // ...the sibling .key is used
	writeFile(t, dir, "README", []byte("not a certificate"))

	for _, tc := range []struct {
		name  string
		certs []string
	}{
		{"repeated --cert", []string{
			writeFile(t, files, "a.pem", a.combined()),
			writeFile(t, files, "b.pem", b.combined()),
			writeFile(t, files, "w.pem", w.combined()),
		}},
		{"directory", []string{dir}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lf, _ := testLogs(t)
			p := newProvider(t, Config{Certs: tc.certs, LoggerFactory: lf})
			addr := serve(t, p, nil, 0, nil)
			for _, sni := range []struct {
				serverName string
				want       issued
			}{
				{"a.test", a},
				{"b.test", b},
				{"B2.TEST", b},
				{"x.w.test", w},
				{"unknown.test", a},
				{"", a},
			} {
				conf := &tls.Config{RootCAs: ca.pool(), ServerName: sni.serverName}
				if sni.serverName == "" || sni.serverName == "unknown.test" {
					conf.InsecureSkipVerify = true // the default does not match
				}
				got := serialSeen(t, addr, conf)
				if got.Cmp(sni.want.leaf.SerialNumber) != 0 {
					t.Errorf("SNI %q: got the certificate for %v, want %v", sni.serverName, namesOfSerial(got, a, b, w), sni.want.leaf.DNSNames)
				}
			}
		})
	}
}

// namesOfSerial names the certificate with a serial, for messages.
func namesOfSerial(serial interface{ String() string }, certs ...issued) []string {
	for _, c := range certs {
		if c.leaf.SerialNumber.String() == serial.String() {
			return slices.Clone(c.leaf.DNSNames)
		}
	}
	return []string{"?"}
}

func BenchmarkCertSetChoose(b *testing.B) {
	ca := newCA(b, "test CA")
	var certs []*tls.Certificate
	for _, n := range []string{"a.test", "b.test", "*.w.test"} {
		c := ca.server(b, n).tlsCert(b)
		certs = append(certs, &c)
	}
	set := newCertSet(certs, [32]byte{})
	hello := &tls.ClientHelloInfo{ServerName: "x.w.test", SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
		SupportedVersions: []uint16{tls.VersionTLS13}}
	b.ReportAllocs()
	for b.Loop() {
		if set.choose(hello) != certs[2] {
			b.Fatal("wrong certificate")
		}
	}
}
