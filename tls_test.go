package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wsbridge/internal/testpeer"
)

func TestTLSSamePort(t *testing.T) {
	t.Parallel()
	ca := testpeer.NewCA(t, "test CA")
	_, certFile, keyFile := ca.Issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	target := echoTarget(t)
	b := startBridge(t, "--cert", certFile, "--key", keyFile, "127.0.0.1:0", target)
	wss := &tls.Config{RootCAs: ca.Pool, ServerName: "bridge.test"}

	s := b.upgrade(t, wsReq{tls: wss})
	s.echo(t, "over wss")
	p := b.upgrade(t, wsReq{})
	p.echo(t, "over plain ws, same port")

	_, err := b.try(t, wsReq{tls: &tls.Config{RootCAs: ca.Pool, ServerName: "bridge.test", MaxVersion: tls.VersionTLS11}})
	if err == nil {
		t.Error("a TLS 1.1 client was served; want the TLS 1.2 minimum")
	}
}

// TestTLSProxyProtocol: behind a balancer that sends PROXY headers, the
// header comes before the TLS handshake (or the plain request) on the
// same port, and names the client of either.
func TestTLSProxyProtocol(t *testing.T) {
	t.Parallel()
	ca := testpeer.NewCA(t, "test CA")
	_, certFile, keyFile := ca.Issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	target := echoTarget(t)
	b := startBridge(t, "--proxy-protocol", "--trusted-proxy", "127.0.0.1", "--cert", certFile, "--key", keyFile, "127.0.0.1:0", target)
	wss := &tls.Config{RootCAs: ca.Pool, ServerName: "bridge.test"}

	b.upgrade(t, wsReq{tls: wss, prefix: "PROXY TCP4 203.0.113.9 127.0.0.1 5557 443\r\n"}).echo(t, "wss behind haproxy")
	b.waitLog(t, "session 203.0.113.9:5557 -> "+target+" opened")
	b.upgrade(t, wsReq{prefix: "PROXY TCP4 203.0.113.10 127.0.0.1 5558 80\r\n"}).echo(t, "ws behind haproxy")
	b.waitLog(t, "session 203.0.113.10:5558 -> "+target+" opened")
	if _, err := b.try(t, wsReq{tls: wss}); err == nil {
		t.Error("a trusted peer without a PROXY header was served")
	}
}

func TestTLSOnly(t *testing.T) {
	t.Parallel()
	ca := testpeer.NewCA(t, "test CA")
	_, certFile, keyFile := ca.Issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	b := startBridge(t, "--cert", certFile, "--key", keyFile, "--ssl-only", "127.0.0.1:0", echoTarget(t))
	if r, err := b.try(t, wsReq{}); err == nil {
		t.Fatalf("plain upgrade with --ssl-only: got %d, want the connection closed", r.status)
	}
	b.upgrade(t, wsReq{tls: &tls.Config{RootCAs: ca.Pool, ServerName: "bridge.test"}}).echo(t, "wss only")
}

// TestTLSClientCert checks mTLS and ClientCertCNAuth: the name comes from
// the verified certificate, never from a header.
func TestTLSClientCert(t *testing.T) {
	t.Parallel()
	ca := testpeer.NewCA(t, "test CA")
	other := testpeer.NewCA(t, "other CA")
	_, certFile, keyFile := ca.Issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	alice, _, _ := ca.Issue(t, "alice", x509.ExtKeyUsageClientAuth)
	mallory, _, _ := ca.Issue(t, "mallory", x509.ExtKeyUsageClientAuth)
	forged, _, _ := other.Issue(t, "alice", x509.ExtKeyUsageClientAuth)
	b := startBridge(t, "--cert", certFile, "--key", keyFile, "--ssl-only", "--verify-client", "--cafile", ca.File(t),
		"--auth-plugin", "ClientCertCNAuth", "--auth-source", "alice bob", "127.0.0.1:0", echoTarget(t))
	with := func(c *tls.Certificate) *tls.Config {
		cfg := &tls.Config{RootCAs: ca.Pool, ServerName: "bridge.test"}
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

// tlsEchoTarget runs a TLS echo server whose certificate, for vnc.test,
// comes from a fresh CA, and returns its address and the CA.
func tlsEchoTarget(t *testing.T) (string, *testpeer.CA) {
	ca := testpeer.NewCA(t, "target CA")
	cert, _, _ := ca.Issue(t, "vnc.test", x509.ExtKeyUsageServerAuth)
	srvConf := &tls.Config{Certificates: []tls.Certificate{cert}}
	addr := testpeer.TCP(t, func(c *net.TCPConn) {
		tc := tls.Server(c, srvConf)
		defer tc.Close()
		io.Copy(tc, tc)
	})
	return addr, ca
}

// TestTLSTarget bridges to a TLS target verified with --target-ca.
func TestTLSTarget(t *testing.T) {
	t.Parallel()
	target, ca := tlsEchoTarget(t)
	b := startBridge(t, "--ssl-target", "--target-ca", ca.File(t), "--target-server-name", "vnc.test", "127.0.0.1:0", target)
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

// TestTLSTargetAllowTarget: with --ssl-target, --allow-target is applied to
// the address dialled, before any TLS: a refused target gets no
// connection, and the client a 403 that does not name it.
func TestTLSTargetAllowTarget(t *testing.T) {
	t.Parallel()
	in, ca := tlsEchoTarget(t)
	out, outConns := countingTarget(t, "out")
	_, inPort, _ := net.SplitHostPort(in)
	path := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, path, "in: "+in+"\nout: "+out+"\n")
	b := startBridge(t, "--ssl-target", "--target-ca", ca.File(t), "--target-server-name", "vnc.test",
		"--token-plugin", "TokenFile", "--token-source", path, "--allow-target", "127.0.0.1:"+inPort, "127.0.0.1:0")

	b.upgrade(t, wsReq{token: "in"}).echo(t, "to an allowed TLS target")
	r := b.refuse(t, wsReq{token: "out"}, http.StatusForbidden, "target not allowed")
	if strings.Contains(r.body, "127.0.0.1") {
		t.Errorf("the refusal names the target: %q", r.body)
	}
	b.waitLog(t, "refused target "+out+": not in the allowed targets")
	if n := outConns.Load(); n != 0 {
		t.Errorf("the target outside --allow-target got %d connections, want 0", n)
	}
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

// replaceWith writes data to path through a rename, as deploy tools do.
func replaceWith(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// serialOf returns the serial number of the certificate s's bridge showed.
func serialOf(t *testing.T, s *session) string {
	t.Helper()
	tc, ok := s.conn.(*tls.Conn)
	if !ok {
		t.Fatal("not a TLS session")
	}
	return tc.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestTLSReloadLive replaces the certificate under a live wss session: new
// handshakes get the new one, the session goes on, and a broken file keeps
// the certificate in use. Not parallel: its SIGHUP reaches every run in the
// test binary, and parallel tests only start after it.
func TestTLSReloadLive(t *testing.T) {
	ca := testpeer.NewCA(t, "test CA")
	first, certFile, keyFile := ca.Issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	second, newCert, newKey := ca.Issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	b := startBridge(t, "--cert", certFile, "--key", keyFile, "127.0.0.1:0", echoTarget(t))
	wss := &tls.Config{RootCAs: ca.Pool, ServerName: "bridge.test"}

	live := b.upgrade(t, wsReq{tls: wss})
	if got, want := serialOf(t, live), first.Leaf.SerialNumber.String(); got != want {
		t.Fatalf("first certificate: got serial %s, want %s", got, want)
	}
	live.echo(t, "before")

	certPEM, _ := os.ReadFile(newCert)
	keyPEM, _ := os.ReadFile(newKey)
	replaceWith(t, keyFile, keyPEM)
	replaceWith(t, certFile, certPEM)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	b.waitLog(t, "reloaded the certificates")
	s := b.upgrade(t, wsReq{tls: wss})
	if got, want := serialOf(t, s), second.Leaf.SerialNumber.String(); got != want {
		t.Errorf("after reload: got serial %s, want the new %s", got, want)
	}
	live.echo(t, "the live session goes on")

	replaceWith(t, certFile, []byte("not a certificate"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	b.waitLog(t, "reload certificates:")
	s = b.upgrade(t, wsReq{tls: wss})
	if got, want := serialOf(t, s), second.Leaf.SerialNumber.String(); got != want {
		t.Errorf("after a broken reload: got serial %s, want the kept %s", got, want)
	}
	live.echo(t, "still live")
}

// TestTLSOddClients sends what the sniffer must survive: garbage after a
// TLS record byte, garbage without one, a ClientHello to a bridge without
// TLS, and an expired client certificate; the bridge serves on.
func TestTLSOddClients(t *testing.T) {
	t.Parallel()
	ca := testpeer.NewCA(t, "test CA")
	_, certFile, keyFile := ca.Issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	target := echoTarget(t)
	b := startBridge(t, "--cert", certFile, "--key", keyFile, "127.0.0.1:0", target)
	plainOnly := startBridge(t, "127.0.0.1:0", target)
	wss := &tls.Config{RootCAs: ca.Pool, ServerName: "bridge.test"}

	for _, junk := range []string{"\x16\x03\x01\x00\x05garbage", "\x00\x01\x02 not http\r\n\r\n"} {
		c, err := net.Dial("tcp", b.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(waitLimit))
		c.Write([]byte(junk))
		buf := make([]byte, 512)
		n, _ := io.ReadFull(c, buf) // ends at the bridge's close
		c.Close()
		// A close, an HTTP 400 on the plain side, or a TLS alert record
		// (content type 21) on the TLS side.
		if n > 0 && !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 400") && buf[0] != 0x15 {
			t.Errorf("junk %q: got %q, want a close, a 400 or a TLS alert", junk, buf[:n])
		}
	}
	b.upgrade(t, wsReq{tls: wss}).echo(t, "after junk")

	if _, err := plainOnly.try(t, wsReq{tls: wss}); err == nil {
		t.Error("a TLS handshake with a bridge without TLS succeeded")
	}
	plainOnly.upgrade(t, wsReq{}).echo(t, "plain after a ClientHello")

	mtls := startBridge(t, "--cert", certFile, "--key", keyFile, "--ssl-only", "--verify-client", "--cafile", ca.File(t), "127.0.0.1:0", target)
	expired := ca.IssueExpired(t, "alice")
	if _, err := mtls.try(t, wsReq{tls: &tls.Config{RootCAs: ca.Pool, ServerName: "bridge.test", Certificates: []tls.Certificate{expired}}}); err == nil {
		t.Error("an expired client certificate was accepted")
	}
}
