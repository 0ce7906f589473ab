package tunnel

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"wsbridge/frames"
)

// wsClient is a minimal WebSocket client for tests, built on frames/ in the
// client role.
type wsClient struct {
	conn net.Conn
	rd   *frames.Reader
	wr   *frames.Writer
}

// dialWS opens a WebSocket to addr with extra request header lines (each
// "Name: value"). It fails the test on anything but a 101.
func dialWS(t testing.TB, addr string, extra ...string) *wsClient {
	t.Helper()
	c, resp, err := tryDialWS(addr, extra...)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: got status %d, want 101", resp.StatusCode)
	}
	return c
}

// tryDialWS performs a handshake and returns the response; c is nil unless
// the status is 101.
func tryDialWS(addr string, extra ...string) (*wsClient, *http.Response, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	var k [16]byte
	rand.Read(k[:])
	key := frames.NewKey(k)
	var b strings.Builder
	fmt.Fprintf(&b, "GET /websockify HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", addr)
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\n", key)
	hasVersion := false
	for _, h := range extra {
		if strings.HasPrefix(strings.ToLower(h), "sec-websocket-version:") {
			hasVersion = true
		}
	}
	if !hasVersion {
		b.WriteString("Sec-WebSocket-Version: 13\r\n")
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, resp, nil
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), frames.AcceptKey(key); got != want {
		conn.Close()
		return nil, resp, fmt.Errorf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	return &wsClient{conn: conn, rd: frames.NewReader(br, frames.RoleClient), wr: frames.NewWriter(conn, frames.RoleClient)}, resp, nil
}

// readUntilClose reads binary payload until a Close frame and returns the
// data and the Close code and reason. Pings are answered.
func (c *wsClient) readUntilClose(w io.Writer) (frames.CloseCode, string, error) {
	buf := make([]byte, 32<<10)
	for {
		h, err := c.rd.NextFrame()
		if err != nil {
			return 0, "", err
		}
		switch h.Op {
		case frames.OpClose:
			code, reason, err := frames.ParseClose(c.rd.ControlPayload())
			return code, reason, err
		case frames.OpPing:
			if err := c.wr.WriteControl(frames.OpPong, c.rd.ControlPayload()); err != nil {
				return 0, "", err
			}
		case frames.OpPong:
		default:
			if h.Op == frames.OpText {
				return 0, "", errors.New("text frame from server")
			}
			if _, err := io.CopyBuffer(w, c.rd, buf); err != nil {
				return 0, "", err
			}
		}
	}
}

// testServer runs a tunnel.Server on a loopback HTTP server until the test
// ends.
func testServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.LoggerFactory == nil {
		cfg.LoggerFactory = testLogger(t)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return s, ln.Addr().String()
}
