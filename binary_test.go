package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// These tests run the real binary, built once, the way a user or systemd
// does: configured by the environment, stopped by SIGTERM.

// buildBinary builds wsbridge into a temporary directory.
func buildBinary(t *testing.T) string { return testpeer.BuildBridge(t) }

// process is a running wsbridge binary (see testpeer.Bridge).
type process struct {
	cmd    *exec.Cmd
	addr   string
	stderr *testpeer.Output
	exited chan error
}

// startBinary starts bin with env (and the process environment's PATH)
// and waits for its "listening on" log line (see startCmd).
func startBinary(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	return startCmd(t, cmd)
}

// startCmd starts a wsbridge command prepared by the caller (extra files,
// stdin) and waits for its first "listening on" log line.
func startCmd(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	b := testpeer.StartBridge(t, cmd)
	return &process{cmd: b.Cmd, addr: b.Addr, stderr: b.Stderr, exited: b.Exited}
}

// wsDial performs a client handshake on addr.
func wsDial(t *testing.T, addr string) (net.Conn, *frames.Reader, *frames.Writer) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * waitLimit))
	fmt.Fprintf(c, "GET /websockify HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n", addr)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Protocol") != "binary" {
		t.Fatalf("handshake: got %d protocol %q, want 101 binary", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	return c, frames.NewReader(br, frames.RoleClient), frames.NewWriter(c, frames.RoleClient)
}

// readAll reads data frames into w until a Close, which it returns.
func readAll(t *testing.T, rd *frames.Reader, w io.Writer) (frames.CloseCode, string) {
	t.Helper()
	for {
		h, err := rd.NextFrame()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		switch h.Op {
		case frames.OpClose:
			code, reason, err := frames.ParseClose(rd.ControlPayload())
			if err != nil {
				t.Fatal(err)
			}
			return code, reason
		case frames.OpBinary:
			if _, err := io.Copy(w, rd); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unexpected %v frame", h.Op)
		}
	}
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)
	target := testpeer.TCP(t, testpeer.Echo)
	// Configured only through the environment, as a systemd unit would.
	p := startBinary(t, bin, []string{"WSBRIDGE_LISTEN=127.0.0.1:0", "WSBRIDGE_TARGET=" + target, "WSBRIDGE_HEARTBEAT=30"})

	t.Run("page", func(t *testing.T) {
		resp, err := http.Get("http://" + p.addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("wsbridge")) || !bytes.Contains(body, []byte(target)) {
			t.Fatalf("GET /: got %d, want 200 with the name and target:\n%s", resp.StatusCode, body)
		}
	})

	t.Run("huge headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+p.addr+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("64 KiB header: got %d, want 431", resp.StatusCode)
		}
	})

	t.Run("bytes both ways", func(t *testing.T) {
		c, rd, wr := wsDial(t, p.addr)
		data := make([]byte, 3<<20+7)
		rand.Read(data)
		want := sha256.Sum256(data)
		var wg sync.WaitGroup
		wg.Go(func() { // the writer: all data, then Close
			wr.MaxFrame = 100000
			wr.WriteMessage(frames.OpBinary, data)
			wr.WriteClose(frames.CloseNormal, "done")
		})
		h := sha256.New()
		code, reason := readAll(t, rd, h)
		wg.Wait()
		if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Errorf("echoed sha256 %x, want %x", got, want)
		}
		if code != frames.CloseNormal || reason != "done" {
			t.Errorf("close: got %d %q, want 1000 \"done\" echoed", code, reason)
		}
		c.Close()
	})

	t.Run("SIGTERM", func(t *testing.T) {
		_, rd, wr := wsDial(t, p.addr)
		if err := wr.WriteMessage(frames.OpBinary, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		for got.Len() < 4 { // the session is live once the echo is back
			if _, err := rd.NextFrame(); err != nil {
				t.Fatal(err)
			}
			io.Copy(&got, rd)
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		code, reason := readAll(t, rd, io.Discard)
		if code != frames.CloseGoingAway {
			t.Errorf("on SIGTERM: got close %d %q, want 1001", code, reason)
		}
		wr.WriteClose(code, "")
		select {
		case err := <-p.exited:
			if err != nil {
				t.Errorf("exit: %v, want status 0\n%s", err, p.stderr)
			}
		case <-time.After(waitLimit):
			t.Fatalf("wsbridge did not exit after SIGTERM\n%s", p.stderr)
		}
		if log := p.stderr.String(); !strings.Contains(log, "closed_by=server code=1001") {
			t.Errorf("log has no closing line for the session:\n%s", log)
		}
	})
}

// TestBinarySIGTERMThousandSessions: the real binary with 1000 live
// sessions and metrics on: SIGTERM makes /readyz fail, every client gets
// 1001, and the process exits 0 once they have replied. (The tunnel's own
// test, TestShutdownThousandSessions, checks that no goroutine or fd is
// left behind in a process that goes on.)
func TestBinarySIGTERMThousandSessions(t *testing.T) {
	const n = 1000
	bin := buildBinary(t)
	target := testpeer.TCP(t, testpeer.Echo)
	maddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	p := startBinary(t, bin, []string{"WSBRIDGE_METRICS_LISTEN=" + maddr, "WSBRIDGE_CLOSE_TIMEOUT=20"}, "127.0.0.1:0", target)

	type client struct {
		rd *frames.Reader
		wr *frames.Writer
	}
	clients := make([]client, n)
	for i := range clients {
		_, rd, wr := wsDial(t, p.addr)
		clients[i] = client{rd, wr}
	}
	for i, c := range clients { // every session live end to end
		c.wr.WriteMessage(frames.OpBinary, []byte{byte(i)})
	}
	for i, c := range clients {
		if _, err := c.rd.NextFrame(); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		var b [1]byte
		if _, err := io.ReadFull(c.rd, b[:]); err != nil || b[0] != byte(i) {
			t.Fatalf("session %d: echo %v %v", i, b, err)
		}
	}
	if _, body := scrape(t, "http://"+maddr+"/metrics"); sample(body, "wsbridge_connections_active") != n {
		t.Fatalf("connections_active %v, want %d", sample(body, "wsbridge_connections_active"), n)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	got1001 := 0
	for i, c := range clients {
		code, reason := readAll(t, c.rd, io.Discard)
		if code != frames.CloseGoingAway {
			t.Errorf("session %d: got %d %q, want 1001", i, code, reason)
			continue
		}
		got1001++
		if i == 0 { // the server stopped accepting and is not ready any more
			if code, _ := scrape(t, "http://"+maddr+"/readyz"); code != http.StatusServiceUnavailable {
				t.Errorf("/readyz while shutting down: %d, want 503", code)
			}
		}
		c.wr.WriteClose(code, "")
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("exit: %v, want status 0\n%s", err, p.stderr)
		}
	case <-time.After(time.Minute):
		t.Fatalf("wsbridge did not exit after SIGTERM")
	}
	if got1001 != n {
		t.Errorf("%d of %d clients got 1001", got1001, n)
	}
}
