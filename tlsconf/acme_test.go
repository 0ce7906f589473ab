package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"wsbridge/internal/testpeer"
)

// findPebble returns the pebble binary from PATH or $HOME/go/bin, or
// skips (fails in CI, which installs it).
func findPebble(t *testing.T) string {
	if p, err := exec.LookPath("pebble"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, "go", "bin", "pebble"); isExecutable(p) {
			return p
		}
	}
	msg := "needs pebble: go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3 (.ci/run installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// dnsServer answers every A query with 127.0.0.1 and every other query
// with no records, so that pebble's validator finds the test's listener
// for any name. Pebble asks over TCP (RFC 1035 §4.2.2: each message
// behind a two-byte length). It serves until the test ends.
func dnsServer(t *testing.T) string {
	return testpeer.TCP(t, func(c *net.TCPConn) {
		c.SetDeadline(time.Now().Add(time.Minute))
		for {
			var n [2]byte
			if _, err := io.ReadFull(c, n[:]); err != nil {
				return
			}
			q := make([]byte, binary.BigEndian.Uint16(n[:]))
			if _, err := io.ReadFull(c, q); err != nil {
				return
			}
			resp := dnsAnswer(q)
			if resp == nil {
				return
			}
			if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(resp)))); err != nil {
				return
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	})
}

// dnsAnswer builds the reply to a one-question query (RFC 1035 §4.1).
func dnsAnswer(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	i := 12
	for i < len(q) && q[i] != 0 { // the name's labels (queries are not compressed)
		i += int(q[i]) + 1
	}
	end := i + 5 // root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	resp := append([]byte{}, q[:end]...)
	resp[2] = 0x84 | q[2]&0x01 // QR, AA, RD copied
	resp[3] = 0                // NOERROR
	binary.BigEndian.PutUint16(resp[6:], 0)
	binary.BigEndian.PutUint16(resp[8:], 0)
	binary.BigEndian.PutUint16(resp[10:], 0)
	if qtype == 1 { // A
		binary.BigEndian.PutUint16(resp[6:], 1)
		resp = append(resp, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
	}
	return resp
}

// waitListening dials addr until it answers: pebble logs its addresses
// just before it listens, so there is no line to wait for.
func waitListening(t *testing.T, addr string, within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after %v: %v", addr, within, err)
		}
		time.Sleep(20 * time.Millisecond) // polling an external process
	}
}

// pebble is a running pebble ACME server.
type pebble struct {
	proc      *testpeer.Process
	directory string
	roots     *x509.CertPool // pebble's issuing root, for clients of the bridge
}

// startPebble runs pebble validating HTTP-01 on httpPort and TLS-ALPN-01
// on tlsPort, resolving names through dnsAddr, with its own HTTPS under a
// certificate from ca.
func startPebble(t *testing.T, ca *testCA, httpPort, tlsPort int, dnsAddr string) *pebble {
	bin := findPebble(t)
	dir := t.TempDir()
	httpsCert := ca.server(t, "localhost", "127.0.0.1")
	listen := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	mgmt := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           listen,
		"managementListenAddress": mgmt,
		"certificate":             writeFile(t, dir, "cert.pem", httpsCert.certPEM),
		"privateKey":              writeFile(t, dir, "key.pem", httpsCert.keyPEM),
		"httpPort":                httpPort,
		"tlsPort":                 tlsPort,
		"ocspResponderURL":        "",
		"keyAlgorithm":            "ecdsa",
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
	}}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := writeFile(t, dir, "pebble.json", js)
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_VA_ALWAYS_VALID", "0") // validate for real
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	proc := testpeer.Start(t, bin, "-config", cfgPath, "-dnsserver", dnsAddr)
	waitListening(t, listen, 20*time.Second)
	waitListening(t, mgmt, 20*time.Second)

	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + mgmt + "/roots/0")
	if err != nil {
		t.Fatalf("pebble root: %v", err)
	}
	defer resp.Body.Close()
	rootPEM, err := io.ReadAll(resp.Body)
	roots := x509.NewCertPool()
	if err != nil || !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble root: %v %q", err, rootPEM)
	}
	return &pebble{proc: proc, directory: "https://" + listen + "/dir", roots: roots}
}

// stop kills pebble and waits until it has exited.
func (pb *pebble) stop() {
	pb.proc.Cmd.Process.Kill()
	<-pb.proc.Exited
}

func TestACME(t *testing.T) {
	const domain = "wsbridge.test"
	ca := newCA(t, "pebble HTTPS CA")
	dns := dnsServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	pb := startPebble(t, ca, port, port, dns)
	cache := t.TempDir()
	cfg := Config{
		ACMEDomains:   []string{domain, "www." + domain},
		ACMEEmail:     "ops@" + domain,
		ACMECache:     cache,
		ACMEDirectory: pb.directory,
		ACMERootCAs:   ca.pool(),
	}
	var logs *testpeer.Output
	cfg.LoggerFactory, logs = testLogs(t)
	p := newProvider(t, cfg)
	conf := p.TLSConfig()
	if !slices.Contains(conf.NextProtos, "acme-tls/1") || slices.Contains(conf.NextProtos, "h2") || conf.MinVersion < tls.VersionTLS12 {
		t.Errorf("TLSConfig: NextProtos %q, MinVersion %x", conf.NextProtos, conf.MinVersion)
	}
	addr := serve(t, p, ln, time.Minute, p.HTTPHandler(echoHandler()))
	client := &tls.Config{RootCAs: pb.roots, ServerName: domain}

	// The first handshake for the domain obtains its certificate.
	c, err := handshake(addr, client)
	if err != nil {
		t.Fatalf("first handshake (issuance): %v\npebble:\n%s", err, pb.proc.Output.String())
	}
	leaf := c.ConnectionState().PeerCertificates[0]
	c.Close()
	if !slices.Equal(leaf.DNSNames, []string{domain}) {
		t.Errorf("certificate for %q, want [%s]", leaf.DNSNames, domain)
	}
	// Pebble's validator reached the listener with TLS-ALPN-01 (the
	// sniffer logs each such handshake), not HTTP-01.
	if !logs.WaitFor("ACME TLS-ALPN-01 check done", 5*time.Second) {
		t.Errorf("no TLS-ALPN-01 check reached the listener")
	}
	if out := pb.proc.Output.String(); !strings.Contains(out, "set VALID by completed challenge") || strings.Contains(out, "validate w/ HTTP") {
		t.Errorf("pebble did not validate with TLS-ALPN-01 alone:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(cache, domain)); err != nil {
		t.Errorf("certificate not cached: %v", err)
	}

	t.Run("HTTPS request", func(t *testing.T) {
		body, err := get(t, "https://"+addr+"/", client)
		if err != nil || !strings.Contains(body, "tls=true") {
			t.Errorf("got %q, %v", body, err)
		}
	})
	t.Run("no SNI gets the first domain", func(t *testing.T) {
		c, err := handshake(addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(leaf.SerialNumber) != 0 {
			t.Errorf("got serial %x, want %x", got, leaf.SerialNumber)
		}
	})
	t.Run("host outside ACMEDomains refused", func(t *testing.T) {
		c, err := handshake(addr, &tls.Config{RootCAs: pb.roots, ServerName: "other.test"})
		if err == nil {
			c.Close()
			t.Fatalf("handshake for other.test succeeded")
		}
		if strings.Contains(pb.proc.Output.String(), "other.test") {
			t.Errorf("pebble was asked about other.test")
		}
		if !logs.WaitFor("not configured in HostWhitelist", 5*time.Second) {
			t.Errorf("refusal not logged")
		}
	})
	t.Run("plain HTTP through HTTPHandler", func(t *testing.T) {
		for _, tc := range []struct {
			host, path string
			want       int
		}{
			{domain, "/", http.StatusOK},
			{domain, "/.well-known/acme-challenge/unknown-token", http.StatusNotFound},
			{"other.test", "/.well-known/acme-challenge/unknown-token", http.StatusForbidden},
		} {
			req, _ := http.NewRequest("GET", "http://"+addr+tc.path, nil)
			req.Host = tc.host
			resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("GET http://%s%s: %d, want %d", tc.host, tc.path, resp.StatusCode, tc.want)
			}
		}
	})

	// With pebble gone, a second Provider on the same cache still serves
	// the certificate: it never contacts the CA.
	pb.stop()
	lf2, _ := testLogs(t)
	cfg.LoggerFactory = lf2
	p2 := newProvider(t, cfg)
	addr2 := serve(t, p2, nil, time.Minute, nil)
	c, err = handshake(addr2, client)
	if err != nil {
		t.Fatalf("handshake from the cache: %v", err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("from the cache: serial %x, want %x", got, leaf.SerialNumber)
	}
}

// TestACMEHTTPHandlerWithSSLOnly: with --ssl-only plain requests never
// reach a handler, so HTTP-01 stays off and HTTPHandler is the fallback.
func TestACMEHTTPHandlerWithSSLOnly(t *testing.T) {
	lf, _ := testLogs(t)
	p := newProvider(t, Config{ACMEDomains: []string{"a.test"}, ACMECache: t.TempDir(), SSLOnly: true, LoggerFactory: lf})
	fallback := http.NewServeMux()
	if got := p.HTTPHandler(fallback); got != http.Handler(fallback) {
		t.Errorf("HTTPHandler wrapped the fallback under --ssl-only")
	}
	if err := p.Reload(); err != nil {
		t.Errorf("Reload with ACME: %v", err)
	}
}

// TestACMEHTTP01: with TLS-ALPN-01 failing (pebble checks a closed port),
// autocert falls back to HTTP-01, answered by HTTPHandler on the plain
// side of the same listener.
func TestACMEHTTP01(t *testing.T) {
	const domain = "plain.wsbridge.test"
	ca := newCA(t, "pebble HTTPS CA")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pb := startPebble(t, ca, ln.Addr().(*net.TCPAddr).Port, testpeer.FreePort(t), dnsServer(t))
	lf, _ := testLogs(t)
	p := newProvider(t, Config{ACMEDomains: []string{domain}, ACMECache: t.TempDir(), ACMEDirectory: pb.directory,
		ACMERootCAs: ca.pool(), LoggerFactory: lf})
	addr := serve(t, p, ln, time.Minute, p.HTTPHandler(echoHandler()))

	c, err := handshake(addr, &tls.Config{RootCAs: pb.roots, ServerName: domain})
	if err != nil {
		t.Fatalf("handshake (issuance): %v\npebble:\n%s", err, pb.proc.Output.String())
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0].DNSNames; !slices.Equal(got, []string{domain}) {
		t.Errorf("certificate for %q, want [%s]", got, domain)
	}
	if out := pb.proc.Output.String(); !strings.Contains(out, "validate w/ HTTP: http://"+domain) {
		t.Errorf("pebble did not try HTTP-01:\n%s", out)
	}
}
