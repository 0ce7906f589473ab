package main

import (
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"wsbridge/internal/testpeer"
)

// End-to-end tests of who may connect and where the bridge may dial:
// auth plugins, origins, --allow-target, the real client address, limits
// and the unix-socket listener.

// basic is an Authorization header for HTTP Basic auth.
func basic(user, pass string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}}
}

// echoTarget is a TCP echo target.
func echoTarget(t *testing.T) string { return testpeer.TCP(t, testpeer.Echo) }

func TestRoutingAuth(t *testing.T) {
	t.Parallel()
	target := echoTarget(t)
	const realm = `Basic realm="Websockify"`

	t.Run("BasicHTTPAuth", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--auth-plugin", "BasicHTTPAuth", "--auth-source", "alice:open sesame", "127.0.0.1:0", target)
		s := b.upgrade(t, wsReq{header: basic("alice", "open sesame")})
		s.echo(t, "authenticated")
		for name, h := range map[string]http.Header{
			"wrong password": basic("alice", "open barley"),
			"wrong user":     basic("bob", "open sesame"),
			"missing":        nil,
		} {
			r := b.refuse(t, wsReq{header: h}, http.StatusUnauthorized, "")
			if got := r.header.Get("WWW-Authenticate"); got != realm {
				t.Errorf("%s: WWW-Authenticate %q, want %q", name, got, realm)
			}
		}
		// Without --web-auth the page stays open.
		if code, _ := b.get(t, "/", nil); code != http.StatusOK {
			t.Errorf("GET / without --web-auth: got %d, want 200", code)
		}
	})

	t.Run("BasicHTTPAuthFile", func(t *testing.T) {
		t.Parallel()
		hash, err := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "htpasswd")
		writeFile(t, file, "# users\nalice:"+string(hash)+"\n")
		b := startBridge(t, "--auth-plugin", "BasicHTTPAuthFile", "--auth-source", file, "127.0.0.1:0", target)
		b.upgrade(t, wsReq{header: basic("alice", "hunter2")}).echo(t, "bcrypt")
		r := b.refuse(t, wsReq{header: basic("alice", "hunter3")}, http.StatusUnauthorized, "")
		if got := r.header.Get("WWW-Authenticate"); got != realm {
			t.Errorf("wrong password: WWW-Authenticate %q, want %q", got, realm)
		}
		b.refuse(t, wsReq{header: basic("mallory", "hunter2")}, http.StatusUnauthorized, "")
		b.refuse(t, wsReq{}, http.StatusUnauthorized, "")
	})

	t.Run("ExpectOrigin", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--auth-plugin", "ExpectOrigin", "--auth-source", "https://a.example https://b.example", "127.0.0.1:0", target)
		b.upgrade(t, wsReq{header: http.Header{"Origin": {"https://b.example"}}}).echo(t, "right origin")
		b.refuse(t, wsReq{header: http.Header{"Origin": {"https://evil.example"}}}, http.StatusForbidden, "Invalid Origin")
		b.refuse(t, wsReq{}, http.StatusForbidden, "Invalid Origin") // websockify's plugin wants an Origin
	})

	t.Run("--allow-origin", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--allow-origin", "https://portal.example", "--allow-origin", "http://localhost:8080", "127.0.0.1:0", target)
		b.upgrade(t, wsReq{header: http.Header{"Origin": {"https://portal.example"}}}).echo(t, "listed")
		b.upgrade(t, wsReq{header: http.Header{"Origin": {"HTTPS://Portal.example:443"}}}).echo(t, "normalised")
		b.upgrade(t, wsReq{header: http.Header{"Origin": {"http://localhost:8080"}}}).echo(t, "second flag")
		b.refuse(t, wsReq{header: http.Header{"Origin": {"https://evil.example"}}}, http.StatusForbidden, "Invalid Origin")
		b.refuse(t, wsReq{header: http.Header{"Origin": {"null"}}}, http.StatusForbidden, "Invalid Origin")
		b.upgrade(t, wsReq{}).echo(t, "no Origin: not a browser")
		b.waitLog(t, "refused upgrade: 403")
	})

	t.Run("--web-auth", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--auth-plugin", "BasicHTTPAuth", "--auth-source", "alice:pw", "--web-auth", "127.0.0.1:0", target)
		code, hdr := b.get(t, "/", nil)
		if code != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") != realm {
			t.Errorf("GET / without credentials: got %d %q, want 401 %q", code, hdr.Get("WWW-Authenticate"), realm)
		}
		if code, _ := b.get(t, "/", basic("alice", "wrong")); code != http.StatusUnauthorized {
			t.Errorf("GET / with a wrong password: got %d, want 401", code)
		}
		if code, _ := b.get(t, "/", basic("alice", "pw")); code != http.StatusOK {
			t.Errorf("GET / with credentials: got %d, want 200", code)
		}
		b.upgrade(t, wsReq{header: basic("alice", "pw")}).echo(t, "web-auth")
		b.refuse(t, wsReq{}, http.StatusUnauthorized, "")
	})
}

// countingTarget is namedTarget that also counts the connections it got.
func countingTarget(t *testing.T, name string) (string, *atomic.Int32) {
	var n atomic.Int32
	addr := testpeer.TCP(t, func(c *net.TCPConn) {
		n.Add(1)
		c.Write([]byte(name + "\n"))
		testpeer.Echo(c)
	})
	return addr, &n
}

func TestRoutingAllowTarget(t *testing.T) {
	t.Parallel()
	in, _ := countingTarget(t, "in")
	out, outConns := countingTarget(t, "out")
	_, inPort, _ := net.SplitHostPort(in)
	_, outPort, _ := net.SplitHostPort(out)
	path := filepath.Join(t.TempDir(), "tokens")
	writeFile(t, path, "in: "+in+"\nout: "+out+"\nname-in: localhost:"+inPort+"\nname-out: localhost:"+outPort+"\n")
	b := startBridge(t, "--token-plugin", "TokenFile", "--token-source", path,
		"--allow-target", "127.0.0.1:"+inPort, "--allow-target", "[::1]:"+inPort, "127.0.0.1:0")

	for _, tok := range []string{"in", "name-in"} {
		s, greeting := b.open(t, tok)
		if greeting != "in" {
			t.Errorf("token %s: reached %q, want in", tok, greeting)
		}
		s.echo(t, "allowed")
	}
	for _, tok := range []string{"out", "name-out"} {
		r := b.refuse(t, wsReq{token: tok}, http.StatusForbidden, "target not allowed")
		if strings.Contains(r.body, "127.0.0.1") || strings.Contains(r.body, "localhost") {
			t.Errorf("token %s: the refusal names the target: %q", tok, r.body)
		}
		if r.header.Get("Sec-WebSocket-Accept") != "" {
			t.Errorf("token %s: the refusal carries Sec-WebSocket-Accept", tok)
		}
	}
	if n := outConns.Load(); n != 0 {
		t.Errorf("the target outside --allow-target got %d connections, want 0", n)
	}
	b.waitLog(t, "refused target "+out+": not in the allowed targets")
	b.waitLog(t, "refused target localhost:"+outPort+": not in the allowed targets")
	b.waitLog(t, "refused upgrade: 403")
}

func TestRoutingTrustedProxy(t *testing.T) {
	t.Parallel()
	target := echoTarget(t)
	xff := http.Header{"X-Forwarded-For": {"198.51.100.9"}}
	port := func(s *session) string { return strconv.Itoa(s.conn.LocalAddr().(*net.TCPAddr).Port) }

	t.Run("X-Forwarded-For", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--trusted-proxy", "127.0.0.1", "127.0.0.1:0", target)

		direct := b.upgrade(t, wsReq{from: net.IPv4(127, 0, 0, 2), header: xff})
		direct.echo(t, "untrusted peer")
		b.waitLog(t, "session 127.0.0.2:"+port(direct)+" -> "+target+" opened")
		if strings.Contains(b.stderr.String(), "198.51.100.9") {
			t.Errorf("X-Forwarded-For from an untrusted peer was believed:\n%s", b.stderr)
		}

		proxied := b.upgrade(t, wsReq{header: xff})
		proxied.echo(t, "trusted peer")
		b.waitLog(t, "session 198.51.100.9 via 127.0.0.1:"+port(proxied)+" -> "+target+" opened")
	})

	t.Run("--proxy-protocol", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--proxy-protocol", "--trusted-proxy", "127.0.0.1", "127.0.0.1:0", target)
		const hdr = "PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n"

		s := b.upgrade(t, wsReq{prefix: hdr})
		s.echo(t, "behind haproxy")
		b.waitLog(t, "session 203.0.113.7:5555 -> "+target+" opened")

		direct := b.upgrade(t, wsReq{from: net.IPv4(127, 0, 0, 2)})
		direct.echo(t, "direct client")
		b.waitLog(t, "session 127.0.0.2:"+port(direct)+" -> ")

		for name, q := range map[string]wsReq{
			"PROXY header from an untrusted peer": {from: net.IPv4(127, 0, 0, 2), prefix: hdr},
			"no PROXY header from a trusted peer": {},
		} {
			if r, err := b.try(t, q); err == nil {
				t.Errorf("%s: got %d %q, want the connection closed without an answer", name, r.status, strings.TrimSpace(r.body))
			}
		}
		if n := b.stderr.Count("session 203.0.113.7:5555 -> " + target + " opened"); n != 1 {
			t.Errorf("sessions from 203.0.113.7: got %d, want 1 (a spoofed PROXY header opened one)\n%s", n, b.stderr)
		}
	})

	t.Run("--proxy-protocol with --trusted-proxy unix", func(t *testing.T) {
		t.Parallel()
		// "unix" trusts X-Forwarded-For on a unix listener; it must not
		// keep PROXY headers from the TCP proxies listed beside it.
		b := startBridge(t, "--proxy-protocol", "--trusted-proxy", "unix", "--trusted-proxy", "127.0.0.1", "127.0.0.1:0", target)
		b.upgrade(t, wsReq{prefix: "PROXY TCP4 203.0.113.8 127.0.0.1 5556 80\r\n"}).echo(t, "behind haproxy")
		b.waitLog(t, "session 203.0.113.8:5556 -> "+target+" opened")
	})
}

func TestRoutingLimits(t *testing.T) {
	t.Parallel()
	target := echoTarget(t)
	from2 := net.IPv4(127, 0, 0, 2)

	t.Run("--max-connections", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--max-connections", "2", "127.0.0.1:0", target)
		s1 := b.upgrade(t, wsReq{})
		s2 := b.upgrade(t, wsReq{from: from2})
		s1.echo(t, "one")
		s2.echo(t, "two")
		b.refuse(t, wsReq{from: net.IPv4(127, 0, 0, 3)}, http.StatusServiceUnavailable, "too many connections")
		s1.conn.Close() // the session ends, bounded, and frees its slot
		b.pollUpgrade(t, wsReq{from: net.IPv4(127, 0, 0, 3)}).echo(t, "three")
		s2.echo(t, "two still here")
		b.refuse(t, wsReq{}, http.StatusServiceUnavailable, "too many connections")
	})

	t.Run("--max-connections-per-ip", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--max-connections-per-ip", "1", "127.0.0.1:0", target)
		b.upgrade(t, wsReq{}).echo(t, "first from .1")
		b.refuse(t, wsReq{}, http.StatusServiceUnavailable, "too many connections from your address")
		b.upgrade(t, wsReq{from: from2}).echo(t, "first from .2")
		b.refuse(t, wsReq{from: from2}, http.StatusServiceUnavailable, "too many connections from your address")
	})

	t.Run("--handshake-rate", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--handshake-rate", "1", "127.0.0.1:0", target)
		// A burst of 2 (2N), then 429 until the bucket refills (1/s). Three
		// handshakes take milliseconds, far from the second a refill needs.
		for i := range 2 {
			r, err := b.try(t, wsReq{})
			if err != nil || r.sess == nil {
				t.Fatalf("handshake %d of the burst: got %v %+v, want 101", i+1, err, r)
			}
			r.sess.conn.Close()
		}
		r := b.refuse(t, wsReq{}, http.StatusTooManyRequests, "Too Many Requests")
		if got := r.header.Get("Retry-After"); got != "1" {
			t.Errorf("429: Retry-After %q, want 1", got)
		}
		b.upgrade(t, wsReq{from: from2}).echo(t, "another address has its own bucket")
	})
}

func TestRoutingUnixListen(t *testing.T) {
	t.Parallel()
	target := echoTarget(t)

	t.Run("mode and stale socket", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(shortTempDir(t), "ws.sock")
		stale, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		stale.(*net.UnixListener).SetUnlinkOnClose(false)
		stale.Close() // leaves the socket file, as a crashed run would
		if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
			t.Fatalf("no stale socket at %s: %v", path, err)
		}

		b := startBridge(t, "--unix-listen", path, "--unix-listen-mode", "0660", target)
		if b.network != "unix" || b.addr != path {
			t.Fatalf("listening on %s %s, want unix %s", b.network, b.addr, path)
		}
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
			t.Errorf("socket file mode %v, want a socket with 0660", fi.Mode())
		}
		s := b.upgrade(t, wsReq{})
		s.echo(t, "over the unix listener")
		s.conn.Close() // else stopping waits --close-timeout for its Close reply
		if code, _ := b.get(t, "/", nil); code != http.StatusOK {
			t.Errorf("GET / over the unix socket: got %d, want 200", code)
		}
		if err := b.stop(t); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("socket file after the run: %v, want it removed", err)
		}
	})

	t.Run("limits", func(t *testing.T) {
		t.Parallel()
		// A unix-socket peer has no IP address: it counts towards
		// --max-connections only.
		path := filepath.Join(shortTempDir(t), "ws.sock")
		b := startBridge(t, "--unix-listen", path, "--max-connections", "1", "--max-connections-per-ip", "1", "--handshake-rate", "100", target)
		b.upgrade(t, wsReq{}).echo(t, "limited")
		b.refuse(t, wsReq{}, http.StatusServiceUnavailable, "too many connections")
	})

	t.Run("--trusted-proxy unix", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(shortTempDir(t), "ws.sock")
		b := startBridge(t, "--unix-listen", path, "--trusted-proxy", "unix", "--max-connections-per-ip", "1", target)
		b.upgrade(t, wsReq{header: http.Header{"X-Forwarded-For": {"198.51.100.9"}}}).echo(t, "behind nginx")
		b.waitLog(t, "session 198.51.100.9 via @ -> "+target+" opened")
		b.refuse(t, wsReq{header: http.Header{"X-Forwarded-For": {"198.51.100.9"}}}, http.StatusServiceUnavailable, "from your address")
		b.upgrade(t, wsReq{header: http.Header{"X-Forwarded-For": {"198.51.100.10"}}}).echo(t, "another client")
	})

	t.Run("untrusted unix peer", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(shortTempDir(t), "ws.sock")
		b := startBridge(t, "--unix-listen", path, "--trusted-proxy", "127.0.0.1", target)
		b.upgrade(t, wsReq{header: http.Header{"X-Forwarded-For": {"198.51.100.9"}}}).echo(t, "headers ignored")
		b.waitLog(t, "session @ -> "+target+" opened")
		if log := b.stderr.String(); strings.Contains(log, "198.51.100.9") || strings.Contains(log, "invalid IP") {
			t.Errorf("log shows a forwarded or invalid address for an untrusted unix peer:\n%s", log)
		}
	})
}
