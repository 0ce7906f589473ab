package tlsconf

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"

	"wsbridge/internal/testpeer"
)

// testCA is a certificate authority minted for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pool returns a pool trusting the CA.
func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// leafSpec describes a certificate to issue.
type leafSpec struct {
	cn     string
	dns    []string
	ips    []net.IP
	emails []string
	uris   []string
	client bool // client auth instead of server auth
}

// issued is a certificate with its PEM forms.
type issued struct {
	leaf    *x509.Certificate
	certPEM []byte // leaf then CA
	keyPEM  []byte
}

func (i issued) combined() []byte { return append(append([]byte{}, i.certPEM...), i.keyPEM...) }

func (i issued) tlsCert(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(i.certPEM, i.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (ca *testCA) issue(t testing.TB, s leafSpec) issued {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(t),
		Subject:      pkix.Name{CommonName: s.cn},
		DNSNames:     s.dns,
		IPAddresses:  s.ips,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if s.client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	tmpl.EmailAddresses = s.emails
	for _, u := range s.uris {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.pem...)
	return issued{leaf: leaf, certPEM: certPEM, keyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})}
}

// server issues a server certificate for names (IP literals become IP
// SANs) with the first as CN.
func (ca *testCA) server(t testing.TB, names ...string) issued {
	t.Helper()
	s := leafSpec{cn: names[0]}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			s.ips = append(s.ips, ip)
		} else {
			s.dns = append(s.dns, n)
		}
	}
	return ca.issue(t, s)
}

// writeFile writes data to dir/name atomically (rename), as a careful
// operator or certbot does, and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// testLogs returns a logger factory at Debug whose output the test can
// wait for; it is printed if the test fails.
func testLogs(t testing.TB) (logging.LoggerFactory, *testpeer.Output) {
	out := testpeer.NewOutput()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tlsconf log:\n%s", out.String())
		}
	})
	return &logging.DefaultLoggerFactory{Writer: out, DefaultLogLevel: logging.LogLevelDebug, ScopeLevels: map[string]logging.LogLevel{}}, out
}

// newProvider calls New and closes the Provider when the test ends.
func newProvider(t testing.TB, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// connTypeKey carries the type of the conn http.Server got.
type connTypeKey struct{}

// serve runs an http.Server on p.Listener(ln) (a new loopback listener
// if ln is nil) until the test ends; a nil handler means echoHandler.
func serve(t testing.TB, p *Provider, ln net.Listener, timeout time.Duration, handler http.Handler) string {
	t.Helper()
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	if handler == nil {
		handler = echoHandler()
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connTypeKey{}, fmt.Sprintf("%T", c))
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	sl := p.Listener(ln, timeout)
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(sl) }) // the server; ends when srv.Close closes sl
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// echoHandler answers "<conn type> tls=<bool> names=<PeerNames>".
func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s tls=%v names=%s", r.Context().Value(connTypeKey{}), r.TLS != nil, strings.Join(PeerNames(r.TLS), ","))
	})
}

// get does one request on a new connection and returns the body.
func get(t testing.TB, rawURL string, conf *tls.Config) (string, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: conf, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	resp, err := c.Get(rawURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// handshake dials addr and completes a TLS handshake.
func handshake(addr string, conf *tls.Config) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 20 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// serialSeen handshakes and returns the serial of the leaf served.
func serialSeen(t testing.TB, addr string, conf *tls.Config) *big.Int {
	t.Helper()
	c, err := handshake(addr, conf)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber
}
