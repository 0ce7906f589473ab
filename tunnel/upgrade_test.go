package tunnel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sendRaw opens a connection to addr (closed when the test ends, bounded
// by waitFor) and writes req on it.
func sendRaw(t testing.TB, addr, req string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(waitFor))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return conn
}

// rawRequest sends req on a new connection and reads the response and its
// body.
func rawRequest(t *testing.T, addr, req string) (*http.Response, string) {
	t.Helper()
	conn := sendRaw(t, addr, req)
	method, _, _ := strings.Cut(req, " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatal(err)
	}
	return resp, string(body)
}

const goodKey = "dGhlIHNhbXBsZSBub25jZQ=="

// upgradeReq builds a request from a request line and header lines; the
// header lines given replace the defaults of the same name.
func upgradeReq(line string, headers ...string) string {
	defaults := []string{
		"Host: bridge.test",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Version: 13",
		"Sec-WebSocket-Key: " + goodKey,
	}
	var b strings.Builder
	b.WriteString(line + "\r\n")
	given := map[string]bool{}
	for _, h := range headers {
		name, _, _ := strings.Cut(h, ":")
		given[strings.ToLower(name)] = true
	}
	for _, h := range defaults {
		name, _, _ := strings.Cut(h, ":")
		if !given[strings.ToLower(name)] {
			b.WriteString(h + "\r\n")
		}
	}
	for _, h := range headers {
		if !strings.HasSuffix(h, ":-") { // "Name:-" removes a default
			b.WriteString(h + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// TestHandshakeRefusals checks the status, the one-line body, the headers
// and the log line of every refused upgrade.
func TestHandshakeRefusals(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	b := startBridge(t, Config{Target: tgt.addr}, nil)
	for _, tc := range []struct {
		name    string
		req     string
		status  int
		body    string
		headers map[string]string
	}{
		{"POST", upgradeReq("POST /websockify HTTP/1.1", "Content-Length: 0"), 405, "WebSocket upgrade must use GET", map[string]string{"Allow": "GET"}},
		{"PUT", upgradeReq("PUT / HTTP/1.1", "Content-Length: 0"), 405, "WebSocket upgrade must use GET", map[string]string{"Allow": "GET"}},
		{"HTTP/1.0", upgradeReq("GET / HTTP/1.0"), 400, "WebSocket upgrade needs HTTP/1.1", nil},
		{"no Connection", upgradeReq("GET / HTTP/1.1", "Connection:-"), 400, `missing "Connection: Upgrade"`, nil},
		{"Connection: keep-alive", upgradeReq("GET / HTTP/1.1", "Connection: keep-alive"), 400, `missing "Connection: Upgrade"`, nil},
		{"Connection: Upgraded", upgradeReq("GET / HTTP/1.1", "Connection: Upgraded"), 400, `missing "Connection: Upgrade"`, nil},
		{"version 8", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Version: 8"), 426, "unsupported WebSocket version (need 13)", map[string]string{"Sec-WebSocket-Version": "13"}},
		{"version 14", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Version: 14"), 426, "unsupported WebSocket version (need 13)", map[string]string{"Sec-WebSocket-Version": "13"}},
		{"no version", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Version:-"), 426, "unsupported WebSocket version (need 13)", map[string]string{"Sec-WebSocket-Version": "13"}},
		{"no key", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Key:-"), 400, "missing or malformed Sec-WebSocket-Key", nil},
		{"15-byte key", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA"), 400, "missing or malformed Sec-WebSocket-Key", nil},
		{"17-byte key", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA="), 400, "missing or malformed Sec-WebSocket-Key", nil},
		{"key not base64", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="), 400, "missing or malformed Sec-WebSocket-Key", nil},
		{"two keys", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Key: "+goodKey, "Sec-WebSocket-Key: "+goodKey), 400, "missing or malformed Sec-WebSocket-Key", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawRequest(t, b.addr, tc.req)
			if resp.StatusCode != tc.status {
				t.Errorf("got status %d, want %d", resp.StatusCode, tc.status)
			}
			if body != tc.body+"\n" {
				t.Errorf("got body %q, want the one line %q", body, tc.body+"\n")
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("got Content-Type %q, want text/plain", ct)
			}
			for k, v := range tc.headers {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("got %s: %q, want %q", k, got, v)
				}
			}
			if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "" {
				t.Errorf("got Sec-WebSocket-Accept %q on a refusal, want none", got)
			}
			if line := fmt.Sprintf("refused upgrade: %d %s", tc.status, tc.body); !strings.Contains(b.log.String(), line) {
				t.Errorf("log: want a line with %q", line)
			}
		})
	}
}

// TestHandshakeAccepted: token lists, case and any path are accepted.
func TestHandshakeAccepted(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	b := startBridge(t, Config{Target: tgt.addr}, nil)
	for _, tc := range []struct{ name, req string }{
		{"Firefox Connection", upgradeReq("GET /websockify HTTP/1.1", "Connection: keep-alive, Upgrade")},
		{"case", upgradeReq("GET / HTTP/1.1", "Upgrade: WebSocket", "Connection: UPGRADE")},
		{"Connection lines", upgradeReq("GET / HTTP/1.1", "Connection: keep-alive", "Connection: upgrade")},
		{"token path", upgradeReq("GET /websockify?token=x HTTP/1.1")},
		{"deep path", upgradeReq("GET /a/b/c.d HTTP/1.1")},
		{"HTTP/1.2", upgradeReq("GET / HTTP/1.2")},
		{"extension offered", upgradeReq("GET / HTTP/1.1", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := rawRequest(t, b.addr, tc.req)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("got status %d, want 101", resp.StatusCode)
			}
			if got, want := resp.Header.Get("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
				t.Errorf("got Sec-WebSocket-Accept %q, want %q (RFC 6455 §1.3)", got, want)
			}
			if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != "" {
				t.Errorf("got Sec-WebSocket-Extensions %q, want none (declined)", got)
			}
			if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") || !strings.EqualFold(resp.Header.Get("Connection"), "upgrade") {
				t.Errorf("got Upgrade %q Connection %q, want websocket, Upgrade", resp.Header.Get("Upgrade"), resp.Header.Get("Connection"))
			}
		})
	}
}

// TestSubprotocol: "binary" offered anywhere is chosen; nothing offered
// gets no header; only other protocols are refused.
func TestSubprotocol(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	b := startBridge(t, Config{Target: tgt.addr}, nil)
	for _, tc := range []struct {
		name    string
		offered []string // header lines
		status  int
		want    []string // Sec-WebSocket-Protocol values in the reply
	}{
		{"binary", []string{"binary"}, 101, []string{"binary"}},
		{"binary, base64", []string{"binary, base64"}, 101, []string{"binary"}},
		{"base64, binary", []string{"base64, binary"}, 101, []string{"binary"}},
		{"spaces", []string{"  binary  "}, 101, []string{"binary"}},
		{"no spaces", []string{"chat,binary"}, 101, []string{"binary"}},
		{"two lines", []string{"chat", "binary"}, 101, []string{"binary"}},
		{"none", nil, 101, nil},
		{"base64", []string{"base64"}, 400, nil},
		{"chat", []string{"chat"}, 400, nil},
		{"chat, superchat", []string{"chat, superchat"}, 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines []string
			for _, o := range tc.offered {
				lines = append(lines, "Sec-WebSocket-Protocol: "+o)
			}
			c, resp, err := tryDialWS(b.addr, lines...)
			if err != nil {
				t.Fatal(err)
			}
			if c != nil {
				defer c.conn.Close()
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("got status %d, want %d", resp.StatusCode, tc.status)
			}
			got := resp.Header.Values("Sec-WebSocket-Protocol")
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got Sec-WebSocket-Protocol %q, want %q", got, tc.want)
			}
			if tc.status == 400 {
				body, _ := io.ReadAll(resp.Body)
				if want := "unsupported subprotocol: this bridge speaks only \"binary\" (or none)\n"; string(body) != want {
					t.Errorf("got body %q, want %q", body, want)
				}
			}
		})
	}
}

// TestNotAnUpgrade: requests without "Upgrade: websocket" go to Fallback,
// or get 405 when there is none.
func TestNotAnUpgrade(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page for %s %s", r.Method, r.URL.Path)
	})
	reqs := []struct{ name, req, path string }{
		{"plain GET", "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", "GET /index.html"},
		{"h2c", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", "GET /"},
		{"HEAD", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD /"},
	}
	t.Run("fallback", func(t *testing.T) {
		b := startBridge(t, Config{Target: "127.0.0.1:1", Fallback: page}, nil)
		for _, r := range reqs[:2] {
			resp, body := rawRequest(t, b.addr, r.req)
			if resp.StatusCode != 200 || body != "page for "+r.path {
				t.Errorf("%s: got %d %q, want 200 %q", r.name, resp.StatusCode, body, "page for "+r.path)
			}
		}
	})
	t.Run("nil", func(t *testing.T) {
		b := startBridge(t, Config{Target: "127.0.0.1:1"}, nil)
		for _, r := range reqs {
			resp, _ := rawRequest(t, b.addr, r.req)
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
				t.Errorf("%s: got %d Allow %q, want 405 Allow \"GET\"", r.name, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
	})
}

// TestHeaderTimeout: a client that stops in the middle of its request line
// is disconnected by the http.Server's ReadHeaderTimeout.
func TestHeaderTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	b := startBridge(t, Config{Target: "127.0.0.1:1"}, func(hs *http.Server) { hs.ReadHeaderTimeout = timeout })
	// The server's clock starts at accept, which can come before Dial
	// returns: start before it, so that the measured wait is not short.
	start := time.Now()
	conn, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /websockify HT")
	conn.SetReadDeadline(time.Now().Add(waitFor))
	got, err := io.ReadAll(conn)
	if isTimeout(err) {
		t.Fatalf("got no close within %v, want one after about %v", waitFor, timeout)
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("closed after %v, want after ReadHeaderTimeout (%v)", d, timeout)
	}
	// net/http may say why before closing; it must not go on waiting.
	if len(got) != 0 && !strings.HasPrefix(string(got), "HTTP/1.1 400 ") {
		t.Errorf("got %q, want the connection closed, at most after a 400", got)
	}
}

// TestNewConfig: New needs a target, or a Dial that picks one.
func TestNewConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New(Config{}): got no error, want one")
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) { return nil, errors.New("x") }
	if _, err := New(Config{Dial: dial}); err != nil {
		t.Errorf("New with Dial and no Target: got %v, want no error", err)
	}
}
