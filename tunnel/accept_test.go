//go:build linux

package tunnel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"wsbridge/access"
	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// TestNetHTTPAccept runs the package's tests again with every request read
// by net/http (no Server.Listener), so that ServeHTTP's way to the event
// loop stays covered for what the loop's accept path takes in the binary.
func TestNetHTTPAccept(t *testing.T) {
	if os.Getenv(netHTTPEnv) != "" || os.Getenv(goroutinesEnv) != "" {
		t.Skip("this is a run with one way of accepting")
	}
	if testing.Short() {
		t.Skip("-short: the package's tests run once, with Server.Listener")
	}
	args := []string{"-test.count=1", "-test.timeout=10m", "-test.skip=TestGoroutinePumps"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), netHTTPEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the tests with net/http accepting failed: %v\n%s", err, failures(out))
	}
	if !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("the run with net/http accepting did not pass:\n%s", out)
	}
}

// listenBridge serves a Server through Server.Listener, which must take
// the accept onto the event loop, reporting net/http's connection states
// to states.
func listenBridge(t *testing.T, cfg Config, states chan<- http.ConnState, configure ...func(*http.Server)) (*Server, string) {
	t.Helper()
	b := serveBridge(t, cfg, func(hs *http.Server) {
		if states != nil {
			hs.ConnState = func(_ net.Conn, st http.ConnState) { states <- st }
		}
		for _, f := range configure {
			f(hs)
		}
	}, true)
	if !b.onLoop {
		t.Fatal("Listener returned its listener: want the event loop's accept path")
	}
	return b.Server, b.addr
}

// TestListenerBypassesNetHTTP: an upgrade taken by the loop never reaches
// net/http; a page request on its connection is handed to net/http, which
// also takes an upgrade that follows on the same kept-alive connection.
func TestListenerBypassesNetHTTP(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	states := make(chan http.ConnState, 100)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page") })
	cfg := Config{Target: tgt.addr, Fallback: page}
	rec := hooks(&cfg)
	_, addr := listenBridge(t, cfg, states)

	c := dialWS(t, addr)
	echoThrough(t, c, "through the loop")
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	c.expectEOF(t)
	if st := rec.checkEnd(t, "client", 1000, 16, 16); !strings.HasPrefix(st.Target, "127.0.0.1:") {
		t.Errorf("stats target %q, want the target's address", st.Target)
	}
	select {
	case st := <-states:
		t.Fatalf("net/http saw the upgrade's connection (%v), want it taken by the loop", st)
	default:
	}

	conn := sendRaw(t, addr, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body) // all the server sent: nothing stays buffered
	if resp.StatusCode != 200 || string(body) != "page" {
		t.Fatalf("page: got %d %q, want 200 \"page\"", resp.StatusCode, body)
	}
	if st := recv(t, states, "net/http's connection state"); st != http.StateNew {
		t.Errorf("got state %v, want the handed-off connection new to net/http", st)
	}
	// The same connection, kept alive, now upgrades: net/http's way.
	c2, resp2, err := handshakeWS(conn, "/", addr)
	if err != nil || resp2.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade after a page: got %v, %v; want 101", resp2, err)
	}
	echoThrough(t, c2, "through net/http")
	c2.wr.WriteClose(frames.CloseNormal, "")
	c2.expectClose(t, frames.CloseNormal, "")
	rec.checkEnd(t, "client", 1000, 16, 16)
}

// TestListenerSameAnswers: requests at the edges of what the loop takes get
// the status net/http alone gives them.
func TestListenerSameAnswers(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr, LoggerFactory: quietLogger()}
	limit := func(hs *http.Server) { hs.MaxHeaderBytes = 16 << 10 }
	_, loopAddr := listenBridge(t, cfg, nil, limit)
	plain := serveBridge(t, cfg, limit, false)
	long := strings.Repeat("a", 6000)
	huge := strings.Repeat("a", 20000)
	for _, tc := range []struct {
		name   string
		req    string
		status int
	}{
		{"plain", upgradeReq("GET /websockify HTTP/1.1"), 101},
		{"6 KB header (past the first buffer)", upgradeReq("GET / HTTP/1.1", "X-Long: "+long), 101},
		{"headers past MaxHeaderBytes", upgradeReq("GET / HTTP/1.1", "X-Huge: "+huge, "X-Huge2: "+huge, "X-Huge3: "+huge, "X-Huge4: "+huge), 431},
		{"absolute form", upgradeReq("GET http://bridge.test/ HTTP/1.1"), 101},
		{"two Host headers", upgradeReq("GET / HTTP/1.1", "Host: a.test", "Host: b.test"), 400},
		{"no Host", upgradeReq("GET / HTTP/1.1", "Host:-"), 400},
		{"bad Host", upgradeReq("GET / HTTP/1.1", "Host: a b"), 400},
		{"bad header name", upgradeReq("GET / HTTP/1.1", "X(y): 1"), 400},
		{"bad header value", upgradeReq("GET / HTTP/1.1", "X-Y: a\x01b"), 400},
		{"HTTP/2.0 line", upgradeReq("GET / HTTP/2.0"), 505},
		{"HTTP/1.0", upgradeReq("GET / HTTP/1.0"), 400},
		{"body", upgradeReq("GET / HTTP/1.1", "Content-Length: 2") + "xx", 101},
		{"chunked", upgradeReq("GET / HTTP/1.1", "Transfer-Encoding: chunked") + "0\r\n\r\n", 101},
		{"version 8", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Version: 8"), 426},
		{"garbage", "HELLO\r\n\r\n", 400},
		{"bare LF line ends", strings.ReplaceAll(upgradeReq("GET / HTTP/1.1"), "\r\n", "\n"), 101},
		{"a bare LF ends the head", strings.TrimSuffix(upgradeReq("GET / HTTP/1.1"), "\r\n") + "\n", 101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := statusOf(t, plain.addr, tc.req)
			if want != tc.status {
				t.Fatalf("net/http alone: got %d, want %d (the test's premise)", want, tc.status)
			}
			if got := statusOf(t, loopAddr, tc.req); got != want {
				t.Errorf("through Listener: got %d, want %d as from net/http alone", got, want)
			}
		})
	}
}

// statusOf sends req on a new connection and returns the response's
// status.
func statusOf(t *testing.T, addr, req string) int {
	t.Helper()
	resp, _ := rawRequest(t, addr, req)
	return resp.StatusCode
}

// TestListenerEarlyTarget: a target that sends and closes the moment it
// is connected, before the loop has answered 101: its bytes and its FIN
// (whose edges came before the session) reach the client.
func TestListenerEarlyTarget(t *testing.T) {
	tgt := startTarget(t, func(c *net.TCPConn) {
		c.Write([]byte("early"))
		c.CloseWrite()
		io.Copy(io.Discard, c)
	})
	cfg := Config{Target: tgt.addr, LoggerFactory: quietLogger()}
	_, addr := listenBridge(t, cfg, nil)
	const sessions = 50
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	for range sessions {
		wg.Go(func() {
			c, _, err := tryDialWS(addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.conn.Close()
			var got bytes.Buffer
			code, reason, err := c.readUntilClose(&got)
			if err != nil || got.String() != "early" || code != frames.CloseNormal || reason != reasonTargetClosed {
				errs <- fmt.Errorf("got %q, Close %d %q, %v; want \"early\" and Close 1000 %q", got.String(), code, reason, err, reasonTargetClosed)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestListenerPipelined: frames sent in the same write as the request are
// bridged after the 101.
func TestListenerPipelined(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	_, addr := listenBridge(t, Config{Target: tgt.addr}, nil)
	var req bytes.Buffer
	req.WriteString(upgradeReq("GET / HTTP/1.1"))
	w := frames.NewWriter(&req, frames.RoleClient)
	w.WriteMessage(frames.OpBinary, []byte("first"))
	w.WriteClose(frames.CloseNormal, "bye")
	conn := sendRaw(t, addr, req.String())
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("got %v, %v; want 101", resp, err)
	}
	c := &wsClient{conn: conn, rd: frames.NewReader(br, frames.RoleClient), wr: frames.NewWriter(conn, frames.RoleClient)}
	var got bytes.Buffer
	code, reason, err := c.readUntilClose(&got)
	if err != nil || got.String() != "first" || code != frames.CloseNormal || reason != "bye" {
		t.Fatalf("got %q, Close %d %q, %v; want the echo \"first\" and Close 1000 \"bye\"", got.String(), code, reason, err)
	}
}

// TestListenerDialFailed: an unreachable target gets the 101 and a Close
// 1011, as through net/http.
func TestListenerDialFailed(t *testing.T) {
	ev := &events{}
	_, addr := listenBridge(t, Config{Target: testpeer.ClosedPort(t), Observer: ev}, nil)
	c := dialWS(t, addr)
	c.expectClose(t, frames.CloseInternalError, reasonDialFailed)
	c.wr.WriteClose(frames.CloseInternalError, "")
	c.expectEOF(t)
	hs, dials := ev.snapshot()
	if len(hs) != 1 || hs[0] != ResultDialFailed || len(dials) != 1 || !errors.Is(dials[0], syscall.ECONNREFUSED) {
		t.Errorf("observer: got %v, %v; want [dial_failed] and a refused connect", hs, dials)
	}
}

// blackHole returns the address of a listener whose accept queue is full:
// a connect to it gets no answer (Linux drops the SYN) until the test ends.
func blackHole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			return addr // the queue is full
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill a listener's accept queue on this system")
	return ""
}

// TestListenerDialTimeout: a dial on the loop ends at DialTimeout with a
// Close 1011; one still running when Shutdown gives up is closed at once.
func TestListenerDialTimeout(t *testing.T) {
	hole := blackHole(t)
	t.Run("timeout", func(t *testing.T) {
		ev := &events{}
		_, addr := listenBridge(t, Config{Target: hole, DialTimeout: 200 * time.Millisecond, Observer: ev}, nil)
		start := time.Now()
		c := dialWS(t, addr)
		c.expectClose(t, frames.CloseInternalError, reasonDialFailed)
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("Close after %v, want after DialTimeout", d)
		}
		c.wr.WriteClose(frames.CloseInternalError, "")
		c.expectEOF(t)
		if _, dials := ev.snapshot(); len(dials) != 1 || !errors.Is(dials[0], os.ErrDeadlineExceeded) {
			t.Errorf("observer: got dials %v, want one past its deadline", dials)
		}
	})
	t.Run("forced shutdown", func(t *testing.T) {
		s, addr := listenBridge(t, Config{Target: hole, DialTimeout: -1}, nil)
		shutdownWhileDialling(t, s, addr, nil)
	})
}

// pendingCount counts the connections in one list (dialing or reading)
// of each of the Server's loops.
func pendingCount(s *Server, list func(*loop) *pendList) int {
	n := 0
	s.eng.eachLoop(func(l *loop) {
		for pc := list(l).head; pc != nil; pc = pc.next {
			n++
		}
	})
	return n
}

func pendingDials(s *Server) int {
	return pendingCount(s, func(l *loop) *pendList { return &l.dialing })
}

func pendingReading(s *Server) int {
	return pendingCount(s, func(l *loop) *pendList { return &l.reading })
}

// TestListenerClose: closing the listener ends net/http's Accept and drops
// a connection still sending its request; so does Shutdown (which does
// not wait for it), after which an upgrade gets net/http's 503.
func TestListenerClose(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	serve := func(t *testing.T) (*Server, net.Listener, <-chan error) {
		s, err := New(Config{Target: tgt.addr, LoggerFactory: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sl := s.Listener(ln, ListenOptions{})
		hs := &http.Server{Handler: s}
		served := make(chan error, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			served <- hs.Serve(sl)
		}()
		t.Cleanup(func() {
			hs.Close()
			<-done
			s.Shutdown(context.Background())
		})
		return s, sl, served
	}
	partial := func(t *testing.T, addr string) net.Conn {
		return sendRaw(t, addr, "GET / HTTP/1.1\r\n")
	}
	closed := func(t *testing.T, c net.Conn) {
		t.Helper()
		// A reset is as good as a FIN: the bytes it sent may not have
		// been read when it was closed.
		if got, err := io.ReadAll(c); (err != nil && !errors.Is(err, syscall.ECONNRESET)) || len(got) != 0 {
			t.Errorf("got %q, %v; want the connection closed without an answer", got, err)
		}
	}
	t.Run("listener", func(t *testing.T) {
		s, sl, served := serve(t)
		c := partial(t, sl.Addr().String())
		eventually(t, "the request begun on a loop", func() bool { return pendingReading(s) == 1 })
		if err := sl.Close(); err != nil {
			t.Fatal(err)
		}
		closed(t, c)
		if err := recv(t, served, "Serve's return"); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve: got %v, want net.ErrClosed from Accept", err)
		}
		if c, err := net.Dial("tcp", sl.Addr().String()); err == nil {
			c.Close()
			t.Error("the listener still accepts after Close")
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		s, sl, _ := serve(t)
		c := partial(t, sl.Addr().String())
		eventually(t, "the request begun on a loop", func() bool { return pendingReading(s) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		closed(t, c)
		resp, body := rawRequest(t, sl.Addr().String(), upgradeReq("GET / HTTP/1.1"))
		if resp.StatusCode != http.StatusServiceUnavailable || body != "server shutting down\n" {
			t.Errorf("after Shutdown: got %d %q, want 503 \"server shutting down\"", resp.StatusCode, body)
		}
	})
}

// TestListenerNotTaken: what the loop cannot accept for stays with
// net/http: Listener returns the listener it was given.
func TestListenerNotTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
		ln   net.Listener
	}{
		{"port by service name", Config{Target: "localhost:rfb"}, ln},
		{"scoped address", Config{Target: "[fe80::1%lo]:5900"}, ln},
		{"Dial", Config{Target: "127.0.0.1:5900", Dial: func(context.Context, string, string) (net.Conn, error) { return nil, nil }}, ln},
		{"event loop off", Config{Target: "127.0.0.1:5900", DisableEventLoop: true}, ln},
		{"not TCP", Config{Target: "127.0.0.1:5900"}, wrappedListener{ln}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.LoggerFactory = quietLogger()
			s, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Listener(tc.ln, ListenOptions{}); got != tc.ln {
				t.Errorf("got %T, want the listener given", got)
			}
		})
	}
}

type wrappedListener struct{ net.Listener }

// TestListenerHostName: a target given by host name is bridged on the
// loop, at the address the name resolves to. The target listens on
// 127.0.0.1 only, so when localhost resolves to ::1 first, that refused
// connect is followed by one to the next address, as net.Dialer does.
func TestListenerHostName(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	_, port, _ := net.SplitHostPort(tgt.addr)
	states := make(chan http.ConnState, 10)
	cfg := Config{Target: net.JoinHostPort("localhost", port)}
	rec := hooks(&cfg)
	_, addr := listenBridge(t, cfg, states)
	c := dialWS(t, addr)
	echoThrough(t, c, "by name")
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	if st := rec.checkEnd(t, "client", 1000, 7, 7); st.Target != tgt.addr {
		t.Errorf("stats target %q, want the address connected to, %s", st.Target, tgt.addr)
	}
	select {
	case st := <-states:
		t.Fatalf("net/http saw the upgrade's connection (%v), want it taken by the loop", st)
	default:
	}
}

// TestListenerHooks: with Authorize and Resolve (asked off the loop),
// upgrades are bridged on the loop to every kind of route, and refusals
// get the answer net/http alone gives them, headers included.
func TestListenerHooks(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	_, port, _ := net.SplitHostPort(tgt.addr)
	closed := testpeer.ClosedPort(t)
	_, closedPort, _ := net.SplitHostPort(closed)
	sock := filepath.Join(t.TempDir(), "vnc.sock")
	uln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, uln, func(c net.Conn) { io.Copy(c, c) })
	resolve := tokenRoutes(map[string]Route{
		"numeric":        {Network: "tcp", Addr: tgt.addr},
		"by-name":        {Network: "tcp", Addr: net.JoinHostPort("localhost", port)},
		"unix-one":       {Network: "unix", Addr: sock},
		"closed":         {Network: "tcp", Addr: closed},
		"closed-by-name": {Network: "tcp", Addr: net.JoinHostPort("localhost", closedPort)},
	})
	cfg := Config{
		Resolve: func(ctx context.Context, r *http.Request) (Route, error) {
			if r.URL.Query().Get("token") == "down" {
				return Route{}, errors.New("redis down")
			}
			return resolve(ctx, r)
		},
		Authorize: func(r *http.Request) error {
			if r.Header.Get("Authorization") != "Basic b2s6b2s=" {
				return &refusalErr{http.StatusUnauthorized, basicChallenge()}
			}
			return nil
		},
		LoggerFactory: quietLogger(),
	}
	rec := hooks(&cfg)
	_, loopAddr := listenBridge(t, cfg, nil)
	plain := serveBridge(t, cfg, nil, false)
	auth := "Authorization: Basic b2s6b2s="
	// A first session each way starts the loops; from then on, what the
	// cases open they must close.
	for _, addr := range []string{plain.addr, loopAddr} {
		c, _ := dialPath(t, addr, "/?token=numeric", auth)
		echoThrough(t, c, "warm")
		c.wr.WriteClose(frames.CloseNormal, "")
		c.expectClose(t, frames.CloseNormal, "")
		c.conn.Close()
		recv(t, rec.ends, "OnSessionEnd")
	}
	fds0, gs0 := openFDs(t), runtime.NumGoroutine()
	defer func() {
		eventually(t, "descriptors and goroutines back to where they were", func() bool {
			return openFDs(t) <= fds0 && runtime.NumGoroutine() <= gs0
		})
	}()
	for _, tc := range []struct {
		name, path, auth string
		status           int
	}{
		{"numeric route", "/?token=numeric", auth, 101},
		{"route by name", "/?token=by-name", auth, 101},
		{"unix route", "/?token=unix-one", auth, 101},
		{"unknown token", "/?token=nope", auth, 404},
		{"resolve fails", "/?token=down", auth, 502},
		{"not authorized", "/?token=numeric", "X-None: 1", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, way := range []struct{ name, addr string }{{"net/http", plain.addr}, {"loop", loopAddr}} {
				c, resp := dialPath(t, way.addr, tc.path, tc.auth)
				if resp.StatusCode != tc.status {
					t.Fatalf("%s: got %d, want %d", way.name, resp.StatusCode, tc.status)
				}
				if tc.status == 401 && resp.Header.Get("Www-Authenticate") != basicChallenge().Get("Www-Authenticate") {
					t.Errorf("%s: WWW-Authenticate %q, want the challenge", way.name, resp.Header.Get("Www-Authenticate"))
				}
				if tc.status != 101 {
					continue
				}
				echoThrough(t, c, "via "+way.name)
				c.wr.WriteClose(frames.CloseNormal, "")
				c.expectClose(t, frames.CloseNormal, "")
				st := recv(t, rec.ends, "OnSessionEnd")
				if tok := strings.TrimPrefix(tc.path, "/?token="); st.Token != tok[:4]+"…" {
					t.Errorf("%s: stats token %q, want it redacted to %q", way.name, st.Token, tok[:4]+"…")
				}
			}
		})
	}
	for _, tok := range []string{"closed", "closed-by-name"} {
		t.Run("dial fails: "+tok, func(t *testing.T) {
			for _, addr := range []string{plain.addr, loopAddr} {
				c, resp := dialPath(t, addr, "/?token="+tok, auth)
				if resp.StatusCode != 101 {
					t.Fatalf("got %d, want 101 and a Close", resp.StatusCode)
				}
				c.expectClose(t, frames.CloseInternalError, reasonDialFailed)
			}
		})
	}
}

// TestListenerAllowTarget: with AllowTarget, the loop connects only to
// allowed addresses and answers the others 403 before the 101, as
// net/http's path does (by net.Dialer's Control), and nothing reaches a
// refused address.
func TestListenerAllowTarget(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	in := netip.MustParseAddrPort(tgt.addr)
	// out is never accepted from: whatever connected to it would wait in
	// its backlog.
	out, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	outAP := netip.MustParseAddrPort(out.Addr().String())
	sock := filepath.Join(t.TempDir(), "vnc.sock")
	uln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, uln, func(c net.Conn) { io.Copy(c, c) })
	var asked sync.Map // the addresses AllowTarget was asked about
	allow := func(ap netip.AddrPort) bool {
		asked.Store(ap, true)
		return ap == in
	}

	t.Run("routes", func(t *testing.T) {
		routes := map[string]Route{
			"in":          {Network: "tcp", Addr: tgt.addr},
			"out":         {Network: "tcp", Addr: out.Addr().String()},
			"out-by-name": {Network: "tcp", Addr: net.JoinHostPort("localhost", fmt.Sprint(outAP.Port()))},
			"unix":        {Network: "unix", Addr: sock},
		}
		cfg := Config{Resolve: tokenRoutes(routes), AllowTarget: allow}
		loop := serveBridge(t, cfg, nil, true)
		if !loop.onLoop {
			t.Fatal("Listener returned its listener: want the event loop's accept path with AllowTarget")
		}
		plain := serveBridge(t, cfg, nil, false)
		for _, tc := range []struct {
			tok    string
			status int
		}{{"in", 101}, {"unix", 101}, {"out", 403}, {"out-by-name", 403}} {
			for _, way := range []struct {
				name string
				b    *bridge
			}{{"net/http", plain}, {"loop", loop}} {
				c, resp := dialPath(t, way.b.addr, "/?token="+tc.tok)
				if resp.StatusCode != tc.status {
					t.Fatalf("%s, token %s: got %d, want %d", way.name, tc.tok, resp.StatusCode, tc.status)
				}
				if tc.status == 101 {
					echoThrough(t, c, tc.tok+" via "+way.name)
					c.wr.WriteClose(frames.CloseNormal, "")
					c.expectClose(t, frames.CloseNormal, "")
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				if strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "localhost") {
					t.Errorf("%s, token %s: the refusal names the target: %q", way.name, tc.tok, body)
				}
				if !strings.Contains(way.b.log.String(), "refused target "+routes[tc.tok].Addr+": not in the allowed targets") {
					t.Errorf("%s, token %s: the log does not name the refused target:\n%s", way.name, tc.tok, way.b.log.String())
				}
			}
		}
		if _, ok := asked.Load(outAP); !ok {
			t.Error("AllowTarget was never asked about the refused address")
		}
	})

	t.Run("fixed target", func(t *testing.T) {
		for _, way := range []struct {
			name     string
			listener bool
		}{{"net/http", false}, {"loop", true}} {
			ev := &events{}
			b := serveBridge(t, Config{Target: out.Addr().String(), AllowTarget: allow, Observer: ev}, nil, way.listener)
			if b.onLoop != way.listener {
				t.Fatalf("%s: onLoop %v", way.name, b.onLoop)
			}
			_, resp := dialPath(t, b.addr, "/")
			if resp.StatusCode != 403 {
				t.Fatalf("%s: got %d, want 403", way.name, resp.StatusCode)
			}
			hs, dials := ev.snapshot()
			if _, ok := errors.AsType[Refusal](errOf(dials)); len(hs) != 1 || hs[0] != "forbidden" || len(dials) != 1 || !ok {
				t.Errorf("%s: observer got %v, %v; want [forbidden] and one refused dial", way.name, hs, dials)
			}
		}
	})

	// WrapDial (TLS towards the target, in the binary) wraps the dial that
	// applies AllowTarget: a refused address fails the inner dial, before
	// the wrapper's layer would have spoken to it.
	t.Run("WrapDial", func(t *testing.T) {
		routes := map[string]Route{
			"in":  {Network: "tcp", Addr: tgt.addr},
			"out": {Network: "tcp", Addr: out.Addr().String()},
		}
		var wrapped, layered atomic.Int32
		cfg := Config{Resolve: tokenRoutes(routes), AllowTarget: allow,
			WrapDial: func(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
				wrapped.Add(1)
				return func(ctx context.Context, network, addr string) (net.Conn, error) {
					c, err := dial(ctx, network, addr)
					if err != nil {
						return nil, err
					}
					layered.Add(1)
					// A layer over the socket that keeps its half-close.
					return struct{ *net.TCPConn }{c.(*net.TCPConn)}, nil
				}
			}}
		b := serveBridge(t, cfg, nil, true)
		if b.onLoop {
			t.Fatal("Listener took a Server with WrapDial onto the event loop, whose connect is its own")
		}
		if wrapped.Load() != 1 {
			t.Fatalf("WrapDial called %d times by New, want once", wrapped.Load())
		}
		c, resp := dialPath(t, b.addr, "/?token=in")
		if resp.StatusCode != 101 {
			t.Fatalf("token in: got %d, want 101", resp.StatusCode)
		}
		echoThrough(t, c, "through the wrapped dial")
		c.wr.WriteClose(frames.CloseNormal, "")
		c.expectClose(t, frames.CloseNormal, "")
		if _, resp := dialPath(t, b.addr, "/?token=out"); resp.StatusCode != 403 {
			t.Fatalf("token out: got %d, want 403", resp.StatusCode)
		}
		if n := layered.Load(); n != 1 {
			t.Errorf("the wrapper layered %d connections, want 1 (the refused one never connected)", n)
		}
		if !strings.Contains(b.log.String(), "refused target "+routes["out"].Addr+": not in the allowed targets") {
			t.Errorf("the log does not name the refused target:\n%s", b.log.String())
		}
	})

	t.Run("by name", func(t *testing.T) {
		closed := netip.MustParseAddrPort(testpeer.ClosedPort(t))
		allowClosed := func(ap netip.AddrPort) bool {
			return ap == in || ap.Port() == closed.Port() && ap.Addr() != netip.MustParseAddr("127.0.0.1")
		}
		for _, tc := range []struct {
			name   string
			port   uint16
			addrs  []string
			status int // 101: a session; 1011: a 101, then the dial's Close
		}{
			// The first address is skipped, the second connects.
			{"refused, then an allowed one", in.Port(), []string{"127.0.0.2", "127.0.0.1"}, 101},
			// The first address is refused: the dial ends with it, as
			// net.Dialer reports its first error.
			{"refused, then one that fails", closed.Port(), []string{"127.0.0.1", "127.0.0.2"}, 403},
			// The first address fails to connect: the refusal of the
			// second is not what ends the dial.
			{"fails, then one refused", closed.Port(), []string{"127.0.0.2", "127.0.0.1"}, 1011},
			{"every address refused", outAP.Port(), []string{"127.0.0.1", "::1"}, 403},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ev := &events{}
				_, addr := lookupBridge(t, Config{Target: fmt.Sprint(tc.port), AllowTarget: allowClosed, Observer: ev}, resolvesTo(tc.addrs...))
				c, resp := dialPath(t, addr, "/")
				switch {
				case tc.status == 1011 && resp.StatusCode == 101:
					c.expectClose(t, frames.CloseInternalError, reasonDialFailed)
					if _, dials := ev.snapshot(); !errors.Is(errOf(dials), syscall.ECONNREFUSED) {
						t.Errorf("observer: got dials %v, want the first address's failure", dials)
					}
				case resp.StatusCode != tc.status:
					t.Fatalf("got %d, want %d", resp.StatusCode, tc.status)
				case tc.status == 101:
					echoThrough(t, c, "second address")
				}
			})
		}
	})

	// Nothing ever connected to out.
	out.(*net.TCPListener).SetDeadline(time.Now())
	if c, err := out.Accept(); err == nil {
		c.Close()
		t.Errorf("a connection from %s reached the refused target", c.RemoteAddr())
	}
}

// errOf is the only error in errs, or nil.
func errOf(errs []error) error {
	if len(errs) != 1 {
		return nil
	}
	return errs[0]
}

// TestListenerChurn: many connections at once through the work done off
// the loop (a Resolve that takes its time, to routes that work, are
// dialled off the loop, fail to dial or are unknown; or a Target by name),
// with clients that leave at each step (before the answer, right after it,
// or at the end of a whole session): every connection ends, and nothing
// is left behind.
func TestListenerChurn(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	_, port, _ := net.SplitHostPort(tgt.addr)
	closed := testpeer.ClosedPort(t)
	resolve := func(ctx context.Context, r *http.Request) (Route, error) {
		select {
		case <-time.After(time.Duration(mrand.IntN(3)) * time.Millisecond):
		case <-ctx.Done():
			return Route{}, ctx.Err()
		}
		switch r.URL.Query().Get("token") {
		case "good":
			return Route{Network: "tcp", Addr: tgt.addr}, nil
		case "named": // dialled off the loop, its socket handed over
			return Route{Network: "tcp", Addr: net.JoinHostPort("localhost", port)}, nil
		case "closed":
			return Route{Network: "tcp", Addr: closed}, nil
		case "denied": // refused by AllowTarget, where it is set
			return Route{Network: "tcp", Addr: net.JoinHostPort("127.0.0.2", port)}, nil
		}
		return Route{}, &HandshakeError{Status: http.StatusNotFound, Msg: "unknown token"}
	}
	allow := func(ap netip.AddrPort) bool { return ap.Addr() == netip.MustParseAddr("127.0.0.1") }
	for _, tc := range []struct {
		name   string
		cfg    Config
		tokens []string
		proxy  bool // behind a balancer: every client sends a PROXY header
	}{
		{"Resolve", Config{Resolve: resolve}, []string{"good", "named", "closed", "nope"}, false},
		{"Target by name", Config{Target: net.JoinHostPort("localhost", port)}, []string{"good"}, false},
		{"PROXY header, AllowTarget", Config{Resolve: resolve, AllowTarget: allow}, []string{"good", "named", "closed", "nope", "denied"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.LoggerFactory = quietLogger()
			var (
				s      *Server
				addr   string
				header string
				ways   = 3
			)
			if tc.proxy {
				var onLoop bool
				addr, s, _, _, _, onLoop = serveProxied(t, tc.cfg, loopback)
				if !onLoop {
					t.Fatal("Listener returned its listener: want the event loop's accept path")
				}
				header, ways = "PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n", 4
			} else {
				s, addr = listenBridge(t, tc.cfg, nil)
			}
			// A first session starts a loop.
			if err := churnClient(addr, "good", 2, header); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the first session's end", func() bool { return s.Active() == 0 })
			fds0, gs0 := openFDs(t), runtime.NumGoroutine()

			const n = 240
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					k := len(tc.tokens)
					tok, way := tc.tokens[i%k], i/k%ways
					if err := churnClient(addr, tok, way, header); err != nil {
						t.Errorf("client %d (%s, way %d): %v", i, tok, way, err)
					}
				})
			}
			wg.Wait()
			eventually(t, "every connection ended, nothing left behind", func() bool {
				return s.Active() == 0 && pendingDials(s) == 0 && pendingReading(s) == 0 &&
					openFDs(t) <= fds0 && runtime.NumGoroutine() <= gs0
			})
		})
	}
}

// churnClient asks addr for token's route, after header if not "" (a
// PROXY header), and leaves after sending the request (way 0), after
// reading the answer (1), after a whole session (2: an echo and a Close
// for a good route or one by name, the dial's Close 1011 for a closed
// one), or halfway through header (3).
func churnClient(addr, tok string, way int, header string) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(waitFor))
	if way == 3 {
		_, err := io.WriteString(conn, header[:len(header)/2])
		return err
	}
	if _, err := io.WriteString(conn, header); err != nil {
		return err
	}
	if way == 0 {
		_, err := io.WriteString(conn, upgradeReq("GET /?token="+tok+" HTTP/1.1"))
		return err
	}
	c, resp, err := handshakeWS(conn, "/?token="+tok, "bridge.test")
	if err != nil {
		return err
	}
	if want := map[string]int{"good": 101, "named": 101, "closed": 101, "nope": 404, "denied": 403}[tok]; resp.StatusCode != want {
		return fmt.Errorf("got %d, want %d", resp.StatusCode, want)
	}
	if way == 1 || resp.StatusCode != http.StatusSwitchingProtocols {
		return nil
	}
	good := tok == "good" || tok == "named"
	if good {
		if err := c.wr.WriteMessage(frames.OpBinary, []byte("churn")); err != nil {
			return err
		}
		var got bytes.Buffer
		if err := c.readN(&got, 5); err != nil || got.String() != "churn" {
			return fmt.Errorf("echo: got %q, %v", got.String(), err)
		}
		if err := c.wr.WriteClose(frames.CloseNormal, ""); err != nil {
			return err
		}
	}
	code, _, err := c.readUntilClose(io.Discard)
	switch {
	case err != nil:
		return err
	case good && code != frames.CloseNormal, !good && code != frames.CloseInternalError:
		return fmt.Errorf("Close %d", code)
	}
	return nil
}

// TestListenerHookShutdown: a Resolve still running off the loop when
// Shutdown gives up is cancelled, and Shutdown waits for it to return.
func TestListenerHookShutdown(t *testing.T) {
	returned := make(chan error, 1)
	cfg := Config{Resolve: func(ctx context.Context, _ *http.Request) (Route, error) {
		<-ctx.Done()
		returned <- ctx.Err()
		return Route{}, ctx.Err()
	}}
	s, addr := listenBridge(t, cfg, nil)
	shutdownWhileDialling(t, s, addr, returned)
}

// shutdownWhileDialling sends an upgrade to addr and, once its connection
// is dialling (or waiting for work off the loop before the dial, which
// reports its end on returned unless that is nil), gives Shutdown no
// time: Shutdown must not wait for the dial, must cancel the work and
// wait for it, and the client's connection is closed without an answer.
func shutdownWhileDialling(t *testing.T, s *Server, addr string, returned <-chan error) {
	t.Helper()
	conn := sendRaw(t, addr, upgradeReq("GET / HTTP/1.1"))
	eventually(t, "the dial begun", func() bool { return pendingDials(s) == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown: got %v, want context.Canceled", err)
	}
	if returned != nil {
		select {
		case err := <-returned:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("the work off the loop ended with %v, want cancelled", err)
			}
		default:
			t.Error("Shutdown returned before the work off the loop")
		}
	}
	if got, err := io.ReadAll(conn); err != nil || len(got) != 0 {
		t.Errorf("client got %q, %v; want the connection closed without an answer", got, err)
	}
}

// TestListenerHookClientGone: a client that leaves while Resolve runs off
// the loop cancels Resolve's context, as net/http cancels a request's.
func TestListenerHookClientGone(t *testing.T) {
	returned := make(chan error, 1)
	cfg := Config{Resolve: func(ctx context.Context, _ *http.Request) (Route, error) {
		select {
		case <-ctx.Done():
		case <-time.After(waitFor):
		}
		returned <- ctx.Err()
		return Route{}, ctx.Err()
	}}
	s, addr := listenBridge(t, cfg, nil)
	conn := sendRaw(t, addr, upgradeReq("GET / HTTP/1.1"))
	eventually(t, "Resolve called", func() bool { return pendingDials(s) == 1 })
	conn.Close()
	if err := recv(t, returned, "Resolve's return"); !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve ended with %v, want its context cancelled", err)
	}
	eventually(t, "the connection gone from the loop", func() bool { return pendingDials(s) == 0 })
}

// lookupBridge serves a Server for Target name:port through the loop,
// with lookup resolving the name.
func lookupBridge(t *testing.T, cfg Config, lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)) (*Server, string) {
	t.Helper()
	cfg.Target = "target.test:" + cfg.Target
	b := serveBridgeWith(t, cfg, func(s *Server) { s.lookupIP = lookup }, nil, true)
	if !b.onLoop {
		t.Fatal("Listener returned its listener: want the event loop's accept path")
	}
	return b.Server, b.addr
}

// resolvesTo is a lookup that answers target.test with addrs.
func resolvesTo(addrs ...string) func(context.Context, string, string) ([]netip.Addr, error) {
	return func(_ context.Context, network, host string) ([]netip.Addr, error) {
		if network != "ip" || host != "target.test" {
			return nil, fmt.Errorf("lookup %s %s: want ip target.test", network, host)
		}
		var ips []netip.Addr
		for _, a := range addrs {
			ips = append(ips, netip.MustParseAddr(a))
		}
		return ips, nil
	}
}

// TestListenerLookup: the loop's dial of a name tries each address the
// name resolves to in turn, each but the last within its share of
// DialTimeout; a failed lookup, one past DialTimeout and one under a
// forced Shutdown end as a failed dial does.
func TestListenerLookup(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	_, port, _ := net.SplitHostPort(tgt.addr)
	t.Run("refused, then the next address", func(t *testing.T) {
		ev := &events{}
		// 127.0.0.2 is loopback too, with nothing listening on the port.
		_, addr := lookupBridge(t, Config{Target: port, Observer: ev}, resolvesTo("127.0.0.2", "127.0.0.1"))
		c := dialWS(t, addr)
		echoThrough(t, c, "second address")
		c.wr.WriteClose(frames.CloseNormal, "")
		c.expectClose(t, frames.CloseNormal, "")
		if hs, dials := ev.snapshot(); len(hs) != 1 || hs[0] != ResultAccepted || len(dials) != 1 || dials[0] != nil {
			t.Errorf("observer: got %v, %v; want one accepted upgrade after one successful dial", hs, dials)
		}
	})
	t.Run("silent, then the next address in its share", func(t *testing.T) {
		// Both addresses with the black hole's port: 127.0.0.1 answers
		// nothing, 127.0.0.3 refuses, so the dial ends with the refusal
		// after the first address's share (2 s of 4), not at DialTimeout.
		_, holePort, _ := net.SplitHostPort(blackHole(t))
		ev := &events{}
		_, addr := lookupBridge(t, Config{Target: holePort, DialTimeout: 4 * time.Second, Observer: ev}, resolvesTo("127.0.0.1", "127.0.0.3"))
		start := time.Now()
		c := dialWS(t, addr)
		c.expectClose(t, frames.CloseInternalError, reasonDialFailed)
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("Close after %v, want after the first address's 2 s", d)
		}
		// The second address was tried within DialTimeout: the dial
		// ended with its refusal, not the deadline.
		if _, dials := ev.snapshot(); len(dials) != 1 || !errors.Is(dials[0], syscall.ECONNREFUSED) {
			t.Errorf("observer: got dials %v, want the last address's refusal", dials)
		}
	})
	t.Run("lookup fails", func(t *testing.T) {
		ev := &events{}
		errNX := &net.DNSError{Err: "no such host", Name: "target.test", IsNotFound: true}
		_, addr := lookupBridge(t, Config{Target: port, Observer: ev}, func(context.Context, string, string) ([]netip.Addr, error) {
			return nil, errNX
		})
		c := dialWS(t, addr)
		c.expectClose(t, frames.CloseInternalError, reasonDialFailed)
		c.wr.WriteClose(frames.CloseInternalError, "")
		c.expectEOF(t)
		if hs, dials := ev.snapshot(); len(hs) != 1 || hs[0] != ResultDialFailed || len(dials) != 1 || !errors.Is(dials[0], errNX) {
			t.Errorf("observer: got %v, %v; want [dial_failed] and the lookup's error", hs, dials)
		}
	})
	// hang is a lookup that answers only when its context ends, and
	// reports that on returned.
	hang := func(returned chan<- error) func(context.Context, string, string) ([]netip.Addr, error) {
		return func(ctx context.Context, _, _ string) ([]netip.Addr, error) {
			<-ctx.Done()
			returned <- ctx.Err()
			return nil, ctx.Err()
		}
	}
	t.Run("lookup past DialTimeout", func(t *testing.T) {
		ev := &events{}
		returned := make(chan error, 1)
		_, addr := lookupBridge(t, Config{Target: port, DialTimeout: 200 * time.Millisecond, Observer: ev}, hang(returned))
		start := time.Now()
		c := dialWS(t, addr)
		c.expectClose(t, frames.CloseInternalError, reasonDialFailed)
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("Close after %v, want after DialTimeout", d)
		}
		// The loop's deadline cancelled it.
		if err := recv(t, returned, "the lookup's return"); !errors.Is(err, context.Canceled) {
			t.Errorf("lookup ended with %v, want cancelled", err)
		}
		if _, dials := ev.snapshot(); len(dials) != 1 || !errors.Is(dials[0], os.ErrDeadlineExceeded) {
			t.Errorf("observer: got dials %v, want one past its deadline", dials)
		}
	})
	t.Run("forced shutdown", func(t *testing.T) {
		returned := make(chan error, 1)
		s, addr := lookupBridge(t, Config{Target: port, DialTimeout: -1}, hang(returned))
		shutdownWhileDialling(t, s, addr, returned)
	})
}

// TestPartialDeadline: each address but the last gets an equal share of
// the time left, at least 2 s while there is that much.
func TestPartialDeadline(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		left time.Duration // to the dial's deadline; 0: none
		n    int
		want time.Duration // from now; -1: past
	}{
		{0, 3, 0},
		{10 * time.Second, 1, 10 * time.Second},
		{10 * time.Second, 2, 5 * time.Second},
		{10 * time.Second, 10, 2 * time.Second},
		{time.Second, 2, time.Second},
		{-time.Second, 1, -1},
	} {
		var deadline time.Time
		if tc.left != 0 {
			deadline = now.Add(tc.left)
		}
		got, ok := partialDeadline(now, deadline, tc.n)
		switch {
		case tc.want < 0:
			if ok {
				t.Errorf("%v left, %d addresses: got %v, want past", tc.left, tc.n, got.Sub(now))
			}
		case tc.want == 0:
			if !ok || !got.IsZero() {
				t.Errorf("no deadline, %d addresses: got %v, %v; want none", tc.n, got, ok)
			}
		case !ok || got.Sub(now) != tc.want:
			t.Errorf("%v left, %d addresses: got %v, %v; want %v", tc.left, tc.n, got.Sub(now), ok, tc.want)
		}
	}
}

// TestFixedTarget: which targets the loop dials itself, and how.
func TestFixedTarget(t *testing.T) {
	for _, tc := range []struct {
		in, target, host string
		ok               bool
	}{
		{"127.0.0.1:5900", "127.0.0.1:5900", "", true},
		{"[::1]:5900", "[::1]:5900", "", true},
		{"[::ffff:127.0.0.1]:5900", "127.0.0.1:5900", "", true},
		{"localhost:5900", "invalid AddrPort", "localhost", true},
		{"vnc.example:1", "invalid AddrPort", "vnc.example", true},
		{"[fe80::1%lo]:5900", "", "", false},
		{"localhost:rfb", "", "", false},
		{"localhost:0", "", "", false},
		{"localhost:65536", "", "", false},
		{"localhost", "", "", false},
		{":5900", "", "", false},
	} {
		target, host, ok := fixedTarget(tc.in)
		if ok != tc.ok || (ok && (target.String() != tc.target || host != tc.host)) {
			t.Errorf("fixedTarget(%q) = %v, %q, %v; want %s, %q, %v", tc.in, target, host, ok, tc.target, tc.host, tc.ok)
		}
		if ok && host != "" && target.Port() == 0 {
			t.Errorf("fixedTarget(%q): no port", tc.in)
		}
	}
}

// TestListenerIPv6: a client over IPv6 is bridged on the loop, and named
// as net/http names it.
func TestListenerIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr, LoggerFactory: quietLogger()}
	rec := hooks(&cfg)
	sl := serveOn(t, ln, cfg)
	c := dialWS(t, sl.Addr().String())
	echoThrough(t, c, "six")
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	st := rec.checkEnd(t, "client", 1000, 3, 3)
	if want := c.conn.LocalAddr().String(); st.Client != want {
		t.Errorf("stats client: got %q, want %q", st.Client, want)
	}
}

// TestLoopIPv6Target: the loop connects to an IPv6 target (its own
// sockaddr, rawsys_linux.go) and bridges both ways, and the target sees
// the bridge's FIN after the client's Close.
func TestLoopIPv6Target(t *testing.T) {
	tln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	testpeer.Serve(t, tln, func(c net.Conn) { echoTarget(c.(*net.TCPConn)) })
	cfg := Config{Target: tln.Addr().String(), LoggerFactory: quietLogger()}
	rec := hooks(&cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := serveOn(t, ln, cfg)
	c := dialWS(t, sl.Addr().String())
	echoThrough(t, c, "over six")
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	st := rec.checkEnd(t, "client", 1000, 8, 8)
	if want := tln.Addr().String(); st.Target != want {
		t.Errorf("stats target: got %q, want %q", st.Target, want)
	}
}

// serveOn serves a Server for cfg on ln through Server.Listener until the
// test ends, and returns the listener Listener gave.
func serveOn(t *testing.T, ln net.Listener, cfg Config) net.Listener {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return serveListener(t, s, ln, ListenOptions{}, &http.Server{Handler: s})
}

// serveListener serves hs (whose Handler is s) on ln through
// s.Listener(ln, opts) until the test ends, then closes hs and shuts s
// down; it returns the listener Listener gave.
func serveListener(t *testing.T, s *Server, ln net.Listener, opts ListenOptions, hs *http.Server) net.Listener {
	t.Helper()
	sl := s.Listener(ln, opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(sl)
	}()
	t.Cleanup(func() {
		hs.Close()
		<-done
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return sl
}

// loopback trusts the tests' own connections to send PROXY headers.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// serveProxied runs a Server for cfg behind a listener reading PROXY
// headers from trusted peers (through Server.Listener, with a page that
// answers r.RemoteAddr), and reports net/http's connection states and
// whether the loop accepts.
func serveProxied(t *testing.T, cfg Config, trusted []netip.Prefix) (addr string, s *Server, rec *recorder, states chan http.ConnState, lw *testLogWriter, onLoop bool) {
	t.Helper()
	cfg.Fallback = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RemoteAddr) })
	rec = hooks(&cfg)
	if cfg.LoggerFactory == nil {
		lf := testLogger(t)
		cfg.LoggerFactory = lf
		lw = lf.Writer.(*testLogWriter)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	states = make(chan http.ConnState, 1000)
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ConnState: func(_ net.Conn, st http.ConnState) {
		select {
		case states <- st:
		default:
		}
	}}
	opts := ListenOptions{HandshakeTimeout: 5 * time.Second, Proxy: access.NewProxyProtocol(trusted, 5*time.Second)}
	_, onLoop = serveListener(t, s, ln, opts, hs).(*acceptor)
	return ln.Addr().String(), s, rec, states, lw, onLoop
}

// TestListenerProxy: with ListenOptions.Proxy, the loop reads the PROXY
// header before the request and names the session's client by it; what
// it hands net/http (a page) keeps that client, and without the loop
// net/http's connections read the header themselves. Refused headers
// close the connection without an answer.
func TestListenerProxy(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	const v1 = "PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n"
	v2 := "\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c" + "\xc6\x33\x64\x08\x7f\x00\x00\x01\x9c\x41\x00\x50" // 198.51.100.8:40001 → 127.0.0.1:80

	// session runs a whole session after header, and returns its stats.
	session := func(t *testing.T, addr string, rec *recorder, header string) SessionStats {
		t.Helper()
		conn := sendRaw(t, addr, header)
		c, resp, err := handshakeWS(conn, "/", addr)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: got %v, %v; want 101", resp, err)
		}
		echoThrough(t, c, "behind a balancer")
		c.wr.WriteClose(frames.CloseNormal, "")
		c.expectClose(t, frames.CloseNormal, "")
		return rec.checkEnd(t, "client", 1000, 17, 17)
	}
	// closed checks that the bridge closes conn without an answer.
	closed := func(t *testing.T, conn net.Conn) {
		t.Helper()
		if b, err := io.ReadAll(conn); err != nil || len(b) > 0 {
			t.Errorf("got %q, %v; want the connection closed without an answer", b, err)
		}
	}

	for _, way := range []struct {
		name string
		cfg  Config
	}{{"loop", Config{Target: tgt.addr}}, {"net/http", Config{Target: tgt.addr, DisableEventLoop: true}}} {
		t.Run(way.name, func(t *testing.T) {
			addr, _, rec, states, lw, onLoop := serveProxied(t, way.cfg, loopback)
			if onLoop != !way.cfg.DisableEventLoop {
				t.Fatalf("on the loop: %v", onLoop)
			}
			for _, tc := range []struct{ name, header, client string }{
				{"v1", v1, "203.0.113.7:5555"},
				{"v2", v2, "198.51.100.8:40001"},
				{"LOCAL", "PROXY UNKNOWN\r\n", "127.0.0.1:"},
			} {
				if st := session(t, addr, rec, tc.header); !strings.HasPrefix(st.Client, tc.client) {
					t.Errorf("%s: stats client %q, want %s", tc.name, st.Client, tc.client)
				}
			}
			if onLoop {
				select {
				case st := <-states:
					t.Fatalf("net/http saw an upgrade's connection (%v), want it taken by the loop", st)
				default:
				}
			}
			// A page: net/http answers, with the client the header named.
			conn := sendRaw(t, addr, v1+"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "203.0.113.7:5555" {
				t.Errorf("page: r.RemoteAddr %q, want the header's client", body)
			}
			// No header from a trusted peer, or a bad one: closed.
			closed(t, sendRaw(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			closed(t, sendRaw(t, addr, "PROXY TCP4 nonsense\r\n"))
			if onLoop && !strings.Contains(lw.String(), "refused: access: no PROXY header from trusted 127.0.0.1:") {
				t.Errorf("the log does not say why the connection was refused:\n%s", lw)
			}
		})
	}

	t.Run("untrusted peer", func(t *testing.T) {
		addr, _, rec, _, _, _ := serveProxied(t, Config{Target: tgt.addr}, []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")})
		if st := session(t, addr, rec, ""); !strings.HasPrefix(st.Client, "127.0.0.1:") {
			t.Errorf("a direct client: stats client %q, want its own address", st.Client)
		}
		closed(t, sendRaw(t, addr, v1))
	})
}

// TestListenerUnix: a unix listener is accepted from on the loop too; its
// clients are named "@" as net/http names them, and a page still goes to
// net/http.
func TestListenerUnix(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "bridge.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	tgt := startTarget(t, echoTarget)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "page "+r.RemoteAddr) })
	cfg := Config{Target: tgt.addr, Fallback: page, LoggerFactory: quietLogger()}
	rec := hooks(&cfg)
	if sl := serveOn(t, ln, cfg); sl == ln {
		t.Fatal("Listener returned the unix listener: want the loop's accept path")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, resp, err := handshakeWS(conn, "/", "bridge.test")
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: got %v, %v; want 101", resp, err)
	}
	echoThrough(t, c, "over a unix socket")
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	if st := rec.checkEnd(t, "client", 1000, 18, 18); st.Client != "@" {
		t.Errorf("stats client %q, want @ as net/http names an unnamed unix peer", st.Client)
	}
	pc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.SetDeadline(time.Now().Add(waitFor))
	io.WriteString(pc, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	presp, err := http.ReadResponse(bufio.NewReader(pc), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(presp.Body)
	if presp.StatusCode != 200 || string(body) != "page @" {
		t.Errorf("page: got %d %q, want 200 \"page @\"", presp.StatusCode, body)
	}
}

// TestUnixPeer: a unix peer's name, as Go's syscall package gives it.
func TestUnixPeer(t *testing.T) {
	off := int(unsafe.Offsetof(unix.RawSockaddrUnix{}.Path))
	for _, tc := range []struct {
		path string
		want string
	}{
		{"", "@"}, // unnamed
		{"/run/x.sock", "/run/x.sock"},
		{"\x00abstract", "@abstract"},
	} {
		var sa unix.RawSockaddrUnix
		sa.Family = unix.AF_UNIX
		for i := range len(tc.path) {
			sa.Path[i] = int8(tc.path[i])
		}
		if got := unixPeer(&sa, uint32(off+len(tc.path))); got != tc.want {
			t.Errorf("unixPeer(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestPendList: pending connections stay in the order of their deadlines,
// those without one last, whatever order they come in.
func TestPendList(t *testing.T) {
	base := time.Now()
	at := func(s int) time.Time {
		if s == 0 {
			return time.Time{}
		}
		return base.Add(time.Duration(s) * time.Second)
	}
	var q pendList
	pcs := map[int]*pendingConn{}
	for _, s := range []int{3, 0, 1, 5, 0, 2, 4} {
		pc := &pendingConn{deadline: at(s)}
		pcs[s] = pc
		q.push(pc)
	}
	order := func() (got []int) {
		for pc := q.head; pc != nil; pc = pc.next {
			s := 0
			if !pc.deadline.IsZero() {
				s = int(pc.deadline.Sub(base) / time.Second)
			}
			got = append(got, s)
			if pc.next != nil && pc.next.prev != pc || pc.next == nil && q.tail != pc {
				t.Fatalf("links broken at %d", s)
			}
		}
		return got
	}
	if got := fmt.Sprint(order()); got != "[1 2 3 4 5 0 0]" {
		t.Fatalf("got %s, want [1 2 3 4 5 0 0]", got)
	}
	q.remove(pcs[1])
	q.remove(pcs[5])
	q.remove(pcs[5]) // not in it: no change
	if got := fmt.Sprint(order()); got != "[2 3 4 0 0]" {
		t.Fatalf("after removals: got %s, want [2 3 4 0 0]", got)
	}
}

// TestHeadEnd: the request head ends at its first empty line, however its
// lines end, and a search from the middle finds an end that straddles it.
func TestHeadEnd(t *testing.T) {
	for _, tc := range []struct {
		in   string
		from int
		want int
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nrest", 0, 27},
		{"GET / HTTP/1.1\nHost: x\n\nrest", 0, 24},
		{"GET / HTTP/1.1\r\nHost: x\n\r\nrest", 0, 26},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 24, 27},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r", 0, -1},
		{"GET / HTTP/1.1\r\nHost: x\r\n", 0, -1},
		{"\r\n", 0, -1},
	} {
		if got := headEnd([]byte(tc.in), tc.from); got != tc.want {
			t.Errorf("headEnd(%q, %d) = %d, want %d", tc.in, tc.from, got, tc.want)
		}
	}
}
