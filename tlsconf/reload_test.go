package tlsconf

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// liveConn is a keep-alive HTTPS connection made before a reload.
type liveConn struct {
	c *tls.Conn
	r *bufio.Reader
}

func (l liveConn) roundTrip(t *testing.T) string {
	t.Helper()
	l.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(l.c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatalf("live conn write: %v", err)
	}
	resp, err := http.ReadResponse(l.r, nil)
	if err != nil {
		t.Fatalf("live conn read: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("live conn body: %v", err)
	}
	return string(b)
}

func TestReload(t *testing.T) {
	ca := newCA(t, "test CA")
	client := &tls.Config{RootCAs: ca.pool(), ServerName: "localhost"}
	first, second := ca.server(t, "localhost"), ca.server(t, "localhost")

	t.Run("Reload", func(t *testing.T) {
		dir := t.TempDir()
		path := writeFile(t, dir, "c.pem", first.combined())
		lf, _ := testLogs(t)
		p := newProvider(t, Config{Certs: []string{path}, ReloadInterval: -1, LoggerFactory: lf})
		addr := serve(t, p, nil, 0, nil)

		c, err := handshake(addr, client)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		live := liveConn{c, bufio.NewReader(c)}
		live.roundTrip(t)

		writeFile(t, dir, "c.pem", second.combined())
		if got := serialSeen(t, addr, client); got.Cmp(first.leaf.SerialNumber) != 0 {
			t.Fatalf("before Reload (polling off): serial %x, want the first %x", got, first.leaf.SerialNumber)
		}
		if err := p.Reload(); err != nil {
			t.Fatalf("Reload: %v", err)
		}
		if got := serialSeen(t, addr, client); got.Cmp(second.leaf.SerialNumber) != 0 {
			t.Errorf("after Reload: serial %x, want the second %x", got, second.leaf.SerialNumber)
		}
		if body := live.roundTrip(t); !strings.Contains(body, "tls=true") {
			t.Errorf("live conn after reload: got %q", body)
		}
		if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(first.leaf.SerialNumber) != 0 {
			t.Errorf("live conn's certificate changed")
		}
	})

	t.Run("poller", func(t *testing.T) {
		dir := t.TempDir()
		path := writeFile(t, dir, "c.pem", first.combined())
		lf, logs := testLogs(t)
		p := newProvider(t, Config{Certs: []string{path}, ReloadInterval: 20 * time.Millisecond, LoggerFactory: lf})
		addr := serve(t, p, nil, 0, nil)
		if got := serialSeen(t, addr, client); got.Cmp(first.leaf.SerialNumber) != 0 {
			t.Fatalf("serial %x, want the first %x", got, first.leaf.SerialNumber)
		}
		writeFile(t, dir, "c.pem", second.combined())
		if !logs.WaitFor(fmt.Sprintf("reloaded certificates: localhost serial %x", second.leaf.SerialNumber), 10*time.Second) {
			t.Fatalf("the poller did not reload within 10 s")
		}
		if got := serialSeen(t, addr, client); got.Cmp(second.leaf.SerialNumber) != 0 {
			t.Errorf("after the poller: serial %x, want the second %x", got, second.leaf.SerialNumber)
		}
	})

	t.Run("broken file keeps the old certificate", func(t *testing.T) {
		dir := t.TempDir()
		path := writeFile(t, dir, "c.pem", first.combined())
		lf, logs := testLogs(t)
		p := newProvider(t, Config{Certs: []string{path}, ReloadInterval: 20 * time.Millisecond, LoggerFactory: lf})
		addr := serve(t, p, nil, 0, nil)

		// New certificate with the old key: the poller sees a change it
		// cannot load, logs it once and keeps serving the first.
		writeFile(t, dir, "c.pem", append(append([]byte{}, second.certPEM...), first.keyPEM...))
		if !logs.WaitFor("keeping the previous certificates", 10*time.Second) {
			t.Fatalf("broken file not logged within 10 s")
		}
		err := p.Reload()
		if err == nil || !strings.HasPrefix(err.Error(), "tlsconf: --cert "+path) {
			t.Errorf("Reload of a mismatched key: got %v, want an error naming --cert %s", err, path)
		}
		writeFile(t, dir, "c.pem", []byte("garbage"))
		if err := p.Reload(); err == nil {
			t.Errorf("Reload of garbage succeeded")
		}
		if got := serialSeen(t, addr, client); got.Cmp(first.leaf.SerialNumber) != 0 {
			t.Errorf("after broken files: serial %x, want the first %x", got, first.leaf.SerialNumber)
		}
		if n := logs.Count("keeping the previous certificates"); n < 3 {
			t.Errorf("%d failures logged, want at least 3 (poller once, each Reload)", n)
		}

		writeFile(t, dir, "c.pem", second.combined())
		if err := p.Reload(); err != nil {
			t.Fatalf("Reload after the fix: %v", err)
		}
		if got := serialSeen(t, addr, client); got.Cmp(second.leaf.SerialNumber) != 0 {
			t.Errorf("after the fix: serial %x, want the second %x", got, second.leaf.SerialNumber)
		}
	})
}
