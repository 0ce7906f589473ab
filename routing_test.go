package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// End-to-end tests of the routing and access options through run(), in
// process: real targets, token stores and clients on loopback.

// routed is a run started by startBridge.
type routed struct {
	network, addr string // where it listens: "tcp" host:port or "unix" path
	stderr        *testpeer.Output
	done          chan error
	cancel        context.CancelFunc

	stopOnce sync.Once
	stopErr  error
}

// startBridge starts run with exactly args (no positionals are added, and
// no environment is passed) and returns once it accepts connections. The
// run is stopped, and waited for, when the test ends.
func startBridge(t *testing.T, args ...string) *routed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &routed{stderr: testpeer.NewOutput(), done: make(chan error, 1), cancel: cancel}
	ready := make(chan net.Addr, 1)
	go func() { // ends when run returns; stop (or the cleanup) waits for it
		b.done <- run(ctx, runEnv{
			Args:   args,
			Stdout: io.Discard,
			Stderr: b.stderr,
			Ready:  func(a net.Addr) { ready <- a },
		})
	}()
	t.Cleanup(func() {
		if err := b.stop(t); err != nil {
			t.Errorf("run %q: %v", args, err)
		}
	})
	select {
	case a := <-ready:
		b.network, b.addr = a.Network(), a.String()
	case err := <-b.done:
		b.done <- err // for stop
		t.Fatalf("run %q returned before listening: %v\nlog:\n%s", args, err, b.stderr)
	case <-time.After(waitLimit):
		t.Fatalf("run %q not listening after %v\nlog:\n%s", args, waitLimit, b.stderr)
	}
	return b
}

// stop cancels the run and returns its result; later calls return the
// same.
func (b *routed) stop(t *testing.T) error {
	t.Helper()
	b.stopOnce.Do(func() {
		b.cancel()
		select {
		case b.stopErr = <-b.done:
		case <-time.After(waitLimit):
			b.stopErr = fmt.Errorf("did not return within %v\nlog:\n%s", waitLimit, b.stderr)
		}
	})
	return b.stopErr
}

// waitLog waits, bounded, until the log contains s.
func (b *routed) waitLog(t *testing.T, s string) {
	t.Helper()
	if !b.stderr.WaitFor(s, waitLimit) {
		t.Fatalf("log lacks %q after %v:\n%s", s, waitLimit, b.stderr)
	}
}

// wsReq is one upgrade attempt.
type wsReq struct {
	token  string      // the token query parameter, as written in the URL; "" for none
	host   string      // the Host header; "" means the bridge's address
	header http.Header // more request headers
	from   net.IP      // the client's address on TCP; nil means 127.0.0.1
	prefix string      // sent first, before TLS too (a PROXY header)
	tls    *tls.Config // if set, the request goes over TLS (wss://)
}

// wsResp is the bridge's answer.
type wsResp struct {
	status int
	header http.Header
	body   string   // of a refusal
	sess   *session // after a 101
}

// try connects to b and asks for an upgrade. err is set when no HTTP
// answer came (the connection was closed). The connection is closed when
// the test ends, and at once after a refusal.
func (b *routed) try(t *testing.T, q wsReq) (*wsResp, error) {
	t.Helper()
	var d net.Dialer
	d.Timeout = waitLimit
	if b.network == "tcp" {
		from := q.from
		if from == nil {
			from = net.IPv4(127, 0, 0, 1)
		}
		d.LocalAddr = &net.TCPAddr{IP: from}
	}
	c, err := d.Dial(b.network, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * waitLimit))
	if q.prefix != "" {
		// A PROXY header comes first, before TLS too, in a write of its
		// own as a balancer may send it.
		if _, err := io.WriteString(c, q.prefix); err != nil {
			c.Close()
			return nil, err
		}
	}
	if q.tls != nil {
		tc := tls.Client(c, q.tls)
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}

	var req strings.Builder
	target := "/websockify"
	if q.token != "" {
		target += "?token=" + q.token
	}
	host := q.host
	if host == "" {
		host = "bridge"
		if b.network == "tcp" {
			host = b.addr
		}
	}
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", target, host)
	for k, vs := range q.header {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(c, req.String()); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	r := &wsResp{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		r.body = string(body)
		c.Close()
		return r, nil
	}
	s := &session{conn: c, rd: frames.NewReader(br, frames.RoleClient), wr: frames.NewWriter(c, frames.RoleClient)}
	s.br = bufio.NewReader(s)
	r.sess = s
	return r, nil
}

// upgrade asks for an upgrade that must succeed.
func (b *routed) upgrade(t *testing.T, q wsReq) *session {
	t.Helper()
	r, err := b.try(t, q)
	if err != nil {
		t.Fatalf("upgrade %+v: got no answer (%v), want 101\nlog:\n%s", q, err, b.stderr)
	}
	if r.sess == nil {
		t.Fatalf("upgrade %+v: got %d %q, want 101\nlog:\n%s", q, r.status, strings.TrimSpace(r.body), b.stderr)
	}
	return r.sess
}

// open opens a session with token through b and returns it with the
// target's greeting (see namedTarget).
func (b *routed) open(t *testing.T, token string) (*session, string) {
	t.Helper()
	s := b.upgrade(t, wsReq{token: token})
	return s, s.greeting(t)
}

// greeting reads the target's first line.
func (s *session) greeting(t *testing.T) string {
	t.Helper()
	g, err := s.br.ReadString('\n')
	if err != nil {
		t.Fatalf("no greeting from the target: %v", err)
	}
	return strings.TrimSpace(g)
}

// refuse asks for an upgrade that must be refused with status and a body
// containing msg.
func (b *routed) refuse(t *testing.T, q wsReq, status int, msg string) *wsResp {
	t.Helper()
	r, err := b.try(t, q)
	if err != nil {
		t.Fatalf("upgrade %+v: got no answer (%v), want %d %q", q, err, status, msg)
	}
	if r.status != status || !strings.Contains(r.body, msg) {
		t.Fatalf("upgrade %+v: got %d %q, want %d %q\nlog:\n%s", q, r.status, strings.TrimSpace(r.body), status, msg, b.stderr)
	}
	return r
}

// get sends a plain GET to b.
func (b *routed) get(t *testing.T, path string, header http.Header) (int, http.Header) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	if b.network == "unix" {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", b.addr)
		}
	}
	host := b.addr
	if b.network == "unix" {
		host = "bridge"
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+host+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := (&http.Client{Transport: tr, Timeout: waitLimit}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// pollUpgrade retries an upgrade until it succeeds, bounded by waitLimit;
// refusals on the way are expected (a reload or a freed slot pending).
func (b *routed) pollUpgrade(t *testing.T, q wsReq) *session {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		r, err := b.try(t, q)
		if err == nil && r.sess != nil {
			return r.sess
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%d %q", r.status, strings.TrimSpace(r.body))
			}
			t.Fatalf("upgrade %+v still refused after %v: got %v, want 101\nlog:\n%s", q, waitLimit, err, b.stderr)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

// writeFile writes data to path, failing the test on error.
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile replaces path atomically (temp file + rename), as the
// README asks token files to be written.
func replaceFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, data)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// shortTempDir is a temporary directory with a short path: unix socket
// paths are limited to 107 bytes, which t.TempDir's can exceed.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wsb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// unixTarget is namedTarget on a unix socket at path.
func unixTarget(t *testing.T, path, name string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, func(c net.Conn) {
		io.WriteString(c, name+"\n")
		io.Copy(c, c)
	})
}

func TestRoutingTokenFile(t *testing.T) {
	t.Parallel()
	t1, t2 := namedTarget(t, "t1"), namedTarget(t, "t2")

	t.Run("file", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tokens")
		writeFile(t, path, "# the VMs\nvm1: "+t1+"\n\nvm2:\t"+t2+"\n")
		b := startBridge(t, "--token-plugin", "TokenFile", "--token-source", path, "127.0.0.1:0")
		for _, tc := range []struct{ token, want string }{{"vm1", "t1"}, {"vm2", "t2"}, {"vm1", "t1"}} {
			s, greeting := b.open(t, tc.token)
			if greeting != tc.want {
				t.Errorf("token %s: reached %q, want %q", tc.token, greeting, tc.want)
			}
			s.echo(t, "hello "+tc.token)
			s.conn.Close()
		}
		b.refuse(t, wsReq{token: "vm3"}, http.StatusNotFound, "unknown token")
		b.refuse(t, wsReq{token: "VM1"}, http.StatusNotFound, "unknown token") // tokens are case-sensitive
		b.refuse(t, wsReq{}, http.StatusNotFound, "no token in the request")
		b.waitLog(t, "refused upgrade: 404 unknown token")
		if strings.Contains(b.stderr.String(), "vm3") {
			t.Errorf("the log shows a token in clear:\n%s", b.stderr)
		}
	})

	t.Run("directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a.conf"), "vm1: "+t1+"\n")
		writeFile(t, filepath.Join(dir, "b.conf"), "vm2: "+t2+"\n")
		b := startBridge(t, "--token-plugin", "ReadOnlyTokenFile", "--token-source", dir, "127.0.0.1:0")
		for _, tc := range []struct{ token, want string }{{"vm1", "t1"}, {"vm2", "t2"}} {
			s, greeting := b.open(t, tc.token)
			if greeting != tc.want {
				t.Errorf("token %s: reached %q, want %q", tc.token, greeting, tc.want)
			}
			s.echo(t, "from a directory")
		}
		b.refuse(t, wsReq{token: "a.conf"}, http.StatusNotFound, "unknown token")
	})

	t.Run("--target-config relative", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "targets")
		writeFile(t, path, "vm2: "+t2+"\n")
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(wd, path)
		if err != nil || filepath.IsAbs(rel) {
			t.Fatalf("no relative path to %s from %s: %v", path, wd, err)
		}
		b := startBridge(t, "--target-config", rel, "127.0.0.1:0")
		if s, greeting := b.open(t, "vm2"); greeting != "t2" {
			t.Errorf("token vm2: reached %q, want t2", greeting)
		} else {
			s.echo(t, "target-config")
		}
		if want := "targets by token (TokenFile " + path + ")"; !strings.Contains(b.stderr.String(), want) {
			t.Errorf("log lacks %q (the source made absolute):\n%s", want, b.stderr)
		}
	})

	t.Run("--host-token", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tokens")
		writeFile(t, path, "vm1.example.com: "+t1+"\nvm2: "+t2+"\n")
		b := startBridge(t, "--token-plugin", "TokenFile", "--token-source", path, "--host-token", "127.0.0.1:0")
		for _, tc := range []struct{ host, want string }{{"vm1.example.com:6080", "t1"}, {"vm2", "t2"}} {
			s := b.upgrade(t, wsReq{host: tc.host, token: "vm1"}) // the query is ignored
			if got := s.greeting(t); got != tc.want {
				t.Errorf("Host %s: reached %q, want %q", tc.host, got, tc.want)
			}
			s.echo(t, "by host")
		}
		b.refuse(t, wsReq{host: "vm3:6080", token: "vm1"}, http.StatusNotFound, "unknown token")
	})

	t.Run("reload while connected", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "tokens")
		writeFile(t, path, "old: "+t1+"\n")
		b := startBridge(t, "--token-plugin", "TokenFile", "--token-source", path, "127.0.0.1:0")
		live, greeting := b.open(t, "old")
		if greeting != "t1" {
			t.Fatalf("token old: reached %q, want t1", greeting)
		}
		live.echo(t, "before the reload")
		b.refuse(t, wsReq{token: "new"}, http.StatusNotFound, "unknown token")

		replaceFile(t, path, "new: "+t2+"\n")
		// Polled every 2 s: the new token routes within a bounded wait.
		s := b.pollUpgrade(t, wsReq{token: "new"})
		if got := s.greeting(t); got != "t2" {
			t.Errorf("token new: reached %q, want t2", got)
		}
		s.echo(t, "after the reload")
		b.refuse(t, wsReq{token: "old"}, http.StatusNotFound, "unknown token")
		live.echo(t, "still here after the reload") // sessions are never dropped by a reload
	})

	// Not parallel: it runs before the parallel subtests start, so that its
	// SIGHUP, which every run in the binary gets, cannot do the poller's
	// work in "reload while connected".
	t.Run("SIGHUP reloads at once", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tokens")
		writeFile(t, path, "old: "+t1+"\n")
		b := startBridge(t, "--token-plugin", "TokenFile", "--token-source", path, "127.0.0.1:0")
		live, _ := b.open(t, "old")
		replaceFile(t, path, "new: "+t2+"\n")
		// run catches SIGHUP from before it reports Ready until it
		// returns (this bridge runs until the test ends), so the signal
		// cannot kill the test binary. Every run in the binary reloads.
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		b.waitLog(t, "reloaded the token source")
		s, greeting := b.open(t, "new") // no poll: the reload is done
		if greeting != "t2" {
			t.Errorf("token new after SIGHUP: reached %q, want t2", greeting)
		}
		s.echo(t, "after SIGHUP")
		b.refuse(t, wsReq{token: "old"}, http.StatusNotFound, "unknown token")
		live.echo(t, "still here after SIGHUP")
	})
}

func TestRoutingTokenRedis(t *testing.T) {
	t.Parallel()
	redis, proc := testpeer.RedisProcess(t)
	t1, t2 := namedTarget(t, "t1"), namedTarget(t, "t2")
	if r := testpeer.RedisCommand(t, redis, "SET", "vm1", t1); r != "+OK\r\n" {
		t.Fatalf("redis SET: got %q, want +OK", r)
	}
	testpeer.RedisCommand(t, redis, "SET", "vm2", `{"host": "`+t2+`"}`)
	b := startBridge(t, "--token-plugin", "TokenRedis", "--token-source", redis, "127.0.0.1:0")

	for _, tc := range []struct{ token, want string }{{"vm1", "t1"}, {"vm2", "t2"}} {
		s, greeting := b.open(t, tc.token)
		if greeting != tc.want {
			t.Errorf("token %s: reached %q, want %q", tc.token, greeting, tc.want)
		}
		s.echo(t, "via redis")
	}
	b.refuse(t, wsReq{token: "vm3"}, http.StatusNotFound, "unknown token")
	testpeer.RedisCommand(t, redis, "SET", "vm3", t2) // asked per connection: works at once
	if _, greeting := b.open(t, "vm3"); greeting != "t2" {
		t.Errorf("token vm3 set after start: reached %q, want t2", greeting)
	}

	live, _ := b.open(t, "vm1")
	if err := proc.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-proc.Exited:
	case <-time.After(waitLimit):
		t.Fatal("redis-server did not exit after SIGKILL")
	}
	b.refuse(t, wsReq{token: "vm1"}, http.StatusServiceUnavailable, "token lookup failed")
	if want := "token lookup: tokens: redis " + redis + ": "; !strings.Contains(b.stderr.String(), want) {
		t.Errorf("log lacks %q (why the lookup failed):\n%s", want, b.stderr)
	}
	live.echo(t, "still here without redis")
}

func TestRoutingJWT(t *testing.T) {
	t.Parallel()
	target := namedTarget(t, "jwt-target")
	host, port, _ := net.SplitHostPort(target)
	key := filepath.Join(t.TempDir(), "jwt.key")
	writeFile(t, key, "s3cret-hmac-key\n") // as echo writes it: the newline is not part of the secret
	b := startBridge(t, "--token-plugin", "JWTTokenApi", "--token-source", key, "127.0.0.1:0")

	sign := func(secret string, claims jwt.MapClaims) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	valid := sign("s3cret-hmac-key", jwt.MapClaims{"host": host, "port": port, "exp": now.Add(time.Hour).Unix()})
	s, greeting := b.open(t, valid)
	if greeting != "jwt-target" {
		t.Errorf("valid JWT: reached %q, want jwt-target", greeting)
	}
	s.echo(t, "signed")

	expired := sign("s3cret-hmac-key", jwt.MapClaims{"host": host, "port": port, "exp": now.Add(-time.Hour).Unix()})
	b.refuse(t, wsReq{token: expired}, http.StatusNotFound, "unknown token")
	wrongKey := sign("another-key", jwt.MapClaims{"host": host, "port": port})
	b.refuse(t, wsReq{token: wrongKey}, http.StatusNotFound, "unknown token")
	b.refuse(t, wsReq{token: "not.a.jwt"}, http.StatusNotFound, "unknown token")
}

func TestRoutingUnixSockets(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	socks := filepath.Join(dir, "socks")
	if err := os.Mkdir(socks, 0o700); err != nil {
		t.Fatal(err)
	}
	unixTarget(t, filepath.Join(socks, "vm1"), "u1")
	unixTarget(t, filepath.Join(socks, "vm2"), "u2")
	outside := filepath.Join(dir, "x") // a socket a traversal would reach
	unixTarget(t, outside, "outside")

	t.Run("UnixDomainSocketDirectory", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--token-plugin", "UnixDomainSocketDirectory", "--token-source", socks, "127.0.0.1:0")
		for _, tc := range []struct{ token, want string }{{"vm1", "u1"}, {"vm2", "u2"}} {
			s, greeting := b.open(t, tc.token)
			if greeting != tc.want {
				t.Errorf("token %s: reached %q, want %q", tc.token, greeting, tc.want)
			}
			s.echo(t, "over a unix socket")
		}
		for _, tok := range []string{"..%2Fx", "../x", "..", "%2E%2E%2Fx", escapeSlashes(outside), "vm3"} {
			b.refuse(t, wsReq{token: tok}, http.StatusNotFound, "unknown token")
		}
	})

	t.Run("--unix-target", func(t *testing.T) {
		t.Parallel()
		b := startBridge(t, "--unix-target", outside, "127.0.0.1:0")
		s := b.upgrade(t, wsReq{})
		if got := s.greeting(t); got != "outside" {
			t.Errorf("--unix-target: reached %q, want outside", got)
		}
		s.echo(t, "one unix target")
		if want := "→ unix socket " + outside; !strings.Contains(b.stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, b.stderr)
		}
	})
}

// escapeSlashes escapes the slashes of a path for a query value.
func escapeSlashes(p string) string { return strings.ReplaceAll(p, "/", "%2F") }

func TestRoutingStartErrors(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	regular := filepath.Join(dir, "not-a-socket")
	writeFile(t, regular, "keep me")
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing token file", []string{"--token-plugin", "TokenFile", "--token-source", missing, "127.0.0.1:0"}, "--token-plugin TokenFile"},
		{"unknown token plugin", []string{"--token-plugin", "TokenAPI", "--token-source", "x", "127.0.0.1:0"}, "unknown token plugin"},
		{"missing JWT key", []string{"--token-plugin", "JWTTokenApi", "--token-source", missing, "127.0.0.1:0"}, "--token-plugin JWTTokenApi"},
		{"missing htpasswd", []string{"--auth-plugin", "BasicHTTPAuthFile", "--auth-source", missing, "127.0.0.1:0", "h:1"}, "--auth-plugin BasicHTTPAuthFile"},
		{"unknown auth plugin", []string{"--auth-plugin", "Kerberos", "--auth-source", "x", "127.0.0.1:0", "h:1"}, "unknown auth plugin"},
		{"bad --allow-target", []string{"--allow-target", "10.0.0.0/8", "127.0.0.1:0", "h:1"}, "--allow-target"},
		{"bad --trusted-proxy", []string{"--trusted-proxy", "proxy.example", "127.0.0.1:0", "h:1"}, "--trusted-proxy"},
		{"--unix-listen in a missing directory", []string{"--unix-listen", filepath.Join(missing, "ws.sock"), "h:1"}, "no such file"},
		{"--unix-listen on a regular file", []string{"--unix-listen", regular, "h:1"}, "address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready := false
			err := run(context.Background(), runEnv{Args: tt.args, Stdout: io.Discard, Stderr: io.Discard, Ready: func(net.Addr) { ready = true }})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if ready {
				t.Errorf("run(%q) was listening before it failed", tt.args)
			}
		})
	}
	if got, err := os.ReadFile(regular); err != nil || string(got) != "keep me" {
		t.Errorf("the regular file at --unix-listen: got %q %v, want it left alone", got, err)
	}
}
