package tunnel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// tokenRoutes is a Resolve that maps the token query parameter to routes.
func tokenRoutes(routes map[string]Route) func(context.Context, *http.Request) (Route, error) {
	return func(_ context.Context, r *http.Request) (Route, error) {
		tok := r.URL.Query().Get("token")
		rt, ok := routes[tok]
		if !ok {
			return Route{}, &HandshakeError{Status: http.StatusNotFound, Msg: "unknown token"}
		}
		rt.Token = tok
		return rt, nil
	}
}

// echoThrough sends msg through c and checks it comes back.
func echoThrough(t *testing.T, c *wsClient, msg string) {
	t.Helper()
	if err := c.wr.WriteMessage(frames.OpBinary, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := c.readN(&got, int64(len(msg))); err != nil {
		t.Fatal(err)
	}
	if got.String() != msg {
		t.Fatalf("echo: got %q, want %q", got.String(), msg)
	}
}

// dialPath opens a WebSocket to addr on path (with a query).
func dialPath(t *testing.T, addr, path string, extra ...string) (*wsClient, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c, resp, err := handshakeWS(conn, path, addr, extra...)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

func TestResolveRoutes(t *testing.T) {
	tcp := startTarget(t, echoTarget)
	sock := filepath.Join(t.TempDir(), "vnc.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	testpeer.Serve(t, ln, func(c net.Conn) { io.Copy(c, c) }) // a unix echo target
	cfg := Config{Resolve: tokenRoutes(map[string]Route{
		"tcp-one":  {Network: "tcp", Addr: tcp.addr},
		"unix-one": {Network: "unix", Addr: sock},
	})}
	rec := hooks(&cfg)
	_, addr := testServer(t, cfg)

	for _, tc := range []struct{ token, target string }{{"tcp-one", tcp.addr}, {"unix-one", sock}} {
		t.Run(tc.token, func(t *testing.T) {
			c, resp := dialPath(t, addr, "/websockify?token="+tc.token)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("got %d, want 101", resp.StatusCode)
			}
			echoThrough(t, c, "through "+tc.token)
			c.wr.WriteClose(frames.CloseNormal, "")
			c.expectClose(t, frames.CloseNormal, "")
			st := recv(t, rec.ends, "OnSessionEnd")
			if st.Token != tc.token[:4]+"…" {
				t.Errorf("stats token: got %q, want it redacted to %q", st.Token, tc.token[:4]+"…")
			}
		})
	}

	t.Run("unknown token", func(t *testing.T) {
		_, resp := dialPath(t, addr, "/websockify?token=nope")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusNotFound || string(body) != "unknown token\n" {
			t.Fatalf("got %d %q, want 404 \"unknown token\"", resp.StatusCode, body)
		}
	})
}

// refusalErr is a Refusal that is not a *HandshakeError, as other
// packages write them.
type refusalErr struct {
	status int
	h      http.Header
}

func (e *refusalErr) Error() string               { return "refused by policy" }
func (e *refusalErr) Refusal() (int, http.Header) { return e.status, e.h }

func basicChallenge() http.Header {
	return http.Header{"Www-Authenticate": {`Basic realm="Websockify"`}}
}

// wrapped hides err one level down, as callers' %w wrapping does.
func wrapped(err error) error { return fmt.Errorf("context: %w", err) }

func TestRefusals(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	var released atomic.Int32
	cases := []struct {
		name       string
		cfg        Config
		wantStatus int
		wantHeader [2]string
	}{
		{"authorize refusal", Config{Authorize: func(*http.Request) error {
			return &refusalErr{http.StatusUnauthorized, basicChallenge()}
		}}, 401, [2]string{"Www-Authenticate", `Basic realm="Websockify"`}},
		{"authorize plain error", Config{Authorize: func(*http.Request) error { return errors.New("no") }}, 403, [2]string{}},
		{"admit refusal", Config{Admit: func(string) (func(), error) {
			return nil, wrapped(&refusalErr{http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}})
		}}, 429, [2]string{"Retry-After", "1"}},
		{"admit plain error", Config{Admit: func(string) (func(), error) { return nil, errors.New("full") }}, 503, [2]string{}},
		{"resolve plain error", Config{Resolve: func(context.Context, *http.Request) (Route, error) {
			return Route{}, errors.New("redis down")
		}}, 502, [2]string{}},
		{"dial refusal", Config{Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, &refusalErr{http.StatusForbidden, nil}
		}}, 403, [2]string{}},
		{"authorize after admit releases", Config{
			Admit: func(string) (func(), error) { return func() { released.Add(1) }, nil },
			Authorize: func(*http.Request) error {
				return &refusalErr{http.StatusForbidden, nil}
			}}, 403, [2]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.Resolve == nil && tc.cfg.Dial == nil {
				tc.cfg.Target = tgt.addr
			}
			_, addr := testServer(t, tc.cfg)
			_, resp, err := tryDialWS(addr)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("got status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if tc.wantHeader[0] != "" && resp.Header.Get(tc.wantHeader[0]) != tc.wantHeader[1] {
				t.Errorf("header %s: got %q, want %q", tc.wantHeader[0], resp.Header.Get(tc.wantHeader[0]), tc.wantHeader[1])
			}
		})
	}
	if released.Load() != 1 {
		t.Errorf("Admit's release called %d times for a refused upgrade, want 1", released.Load())
	}
}

func TestAdmitReleaseAndClientAddr(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	var (
		mu       sync.Mutex
		admitted []string
	)
	releasedC := make(chan struct{}, 1)
	cfg := Config{
		Target:     tgt.addr,
		ClientAddr: func(r *http.Request) string { return r.Header.Get("X-Test-Real") },
		Admit: func(ip string) (func(), error) {
			mu.Lock()
			admitted = append(admitted, ip)
			mu.Unlock()
			return func() { releasedC <- struct{}{} }, nil
		},
	}
	rec := hooks(&cfg)
	_, addr := testServer(t, cfg)
	c := dialWS(t, addr, "X-Test-Real: 203.0.113.9")
	echoThrough(t, c, "hi")
	select {
	case <-releasedC:
		t.Fatal("release called while the session is open")
	default:
	}
	c.wr.WriteClose(frames.CloseNormal, "")
	c.expectClose(t, frames.CloseNormal, "")
	recv(t, releasedC, "release at session end")
	st := recv(t, rec.ends, "OnSessionEnd")
	if !strings.HasPrefix(st.Client, "203.0.113.9 via 127.0.0.1:") {
		t.Errorf("stats client: got %q, want the real address via the peer", st.Client)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(admitted) != 1 || admitted[0] != "203.0.113.9" {
		t.Errorf("Admit got %q, want [203.0.113.9]", admitted)
	}
}
