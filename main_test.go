package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/logging"

	"wsbridge/internal/testpeer"
	"wsbridge/tunnel"
)

// waitLimit bounds every wait for run, so that a bug fails the test
// instead of hanging it. Nothing waits this long when all is well.
const waitLimit = 10 * time.Second

// bridge is a run started by a test.
type bridge struct {
	addr   net.Addr
	done   chan error // run's result
	cancel context.CancelFunc
	stdout *testpeer.Output
	stderr *testpeer.Output
}

// startRun starts run with args on 127.0.0.1:0 towards a local listener
// and returns once it accepts connections.
func startRun(t *testing.T, args ...string) *bridge {
	t.Helper()
	return startRunEnv(t, runEnv{}, args...)
}

// startRunEnv is startRun with e's switches (FitProcs, BatchLog).
func startRunEnv(t *testing.T, e runEnv, args ...string) *bridge {
	t.Helper()
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	b := &bridge{done: make(chan error, 1), cancel: cancel, stdout: testpeer.NewOutput(), stderr: testpeer.NewOutput()}
	ready := make(chan net.Addr, 1)
	go func() { // ends when run returns; every test waits for b.done
		e.Args = append(args, "127.0.0.1:0", target.Addr().String())
		e.Stdout, e.Stderr = b.stdout, b.stderr
		e.Ready = func(a net.Addr) { ready <- a }
		b.done <- run(ctx, e)
	}()
	t.Cleanup(cancel)
	select {
	case b.addr = <-ready:
	case err := <-b.done:
		t.Fatalf("run returned before listening: %v\nlog:\n%s", err, b.stderr)
	case <-time.After(waitLimit):
		t.Fatalf("run not listening after %v", waitLimit)
	}
	return b
}

// wait returns run's result.
func (b *bridge) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-b.done:
		return err
	case <-time.After(waitLimit):
		t.Fatalf("run did not return within %v\nlog:\n%s", waitLimit, b.stderr)
		return nil
	}
}

func (b *bridge) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + b.addr.String() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header, string(body)
}

func TestRunServesPageAndStops(t *testing.T) {
	b := startRun(t)
	code, hdr, body := b.get(t, "/")
	if code != http.StatusOK || !strings.Contains(body, "wsbridge") {
		t.Errorf("GET /: %d, want 200 and a page naming wsbridge; body:\n%s", code, body)
	}
	if hdr.Get("Content-Security-Policy") == "" {
		t.Errorf("GET /: no Content-Security-Policy")
	}
	if code, _, _ := b.get(t, "/websockify"); code != http.StatusNotFound {
		t.Errorf("GET /websockify without an upgrade: %d, want 404", code)
	}
	b.cancel()
	if err := b.wait(t); err != nil {
		t.Errorf("run after cancel: %v, want nil", err)
	}
	if log := b.stderr.String(); !strings.Contains(log, "listening on "+b.addr.String()+" → ") {
		t.Errorf("log lacks the listening line:\n%s", log)
	}
	if _, err := net.Dial("tcp", b.addr.String()); err == nil {
		t.Errorf("still accepting after run returned")
	}
}

func TestRunWeb(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vnc.html"), []byte("noVNC here"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startRun(t, "--web", dir)
	if code, _, body := b.get(t, "/vnc.html"); code != http.StatusOK || body != "noVNC here" {
		t.Errorf("GET /vnc.html: %d %q, want 200 \"noVNC here\"", code, body)
	}
	if code, _, _ := b.get(t, "/"); code != http.StatusNotFound {
		t.Errorf("GET / of a --web directory without index.html: %d, want 404 (no listing)", code)
	}
	b.cancel()
	if err := b.wait(t); err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRunIdleTimeoutExits(t *testing.T) {
	b := startRun(t, "--idle-timeout", "0.05")
	if err := b.wait(t); err != nil {
		t.Errorf("run with --idle-timeout: %v, want nil", err)
	}
	if log := b.stderr.String(); !strings.Contains(log, errIdleTimeout.Error()) {
		t.Errorf("log does not say why it stopped:\n%s", log)
	}
}

// upgrade opens a WebSocket session on b by hand and returns the conn once
// the 101 has arrived. It checks the wiring (the session hooks), not the
// tunnel, so it speaks no more WebSocket than the handshake.
func (b *bridge) upgrade(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", b.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET /websockify HTTP/1.1\r\nHost: bridge\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(waitLimit))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: status %d, want 101", resp.StatusCode)
	}
	return c
}

func TestRunOnceExitsAfterFirstSession(t *testing.T) {
	b := startRun(t, "--run-once")
	c := b.upgrade(t)
	select {
	case err := <-b.done:
		t.Fatalf("run returned while the session was open: %v", err)
	default:
	}
	c.Close() // the client goes away; the session ends
	if err := b.wait(t); err != nil {
		t.Errorf("run with --run-once: %v, want nil", err)
	}
	if log := b.stderr.String(); !strings.Contains(log, errRunOnce.Error()) {
		t.Errorf("log does not say why it stopped:\n%s", log)
	}
}

// TestRunBatchesLog: with BatchLog (as main runs) the log's lines come
// from the batching writer while wsbridge runs, and every line logged
// before run returns is written by then, in order.
func TestRunBatchesLog(t *testing.T) {
	b := startRunEnv(t, runEnv{BatchLog: true}, "--run-once")
	c := b.upgrade(t)
	if !b.stderr.WaitFor(" opened", waitLimit) {
		t.Fatalf("no line for the session's start after %v:\n%s", waitLimit, b.stderr)
	}
	c.Close()
	if err := b.wait(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	log := b.stderr.String()
	closed, stop := strings.Index(log, " closed"), strings.LastIndex(log, errRunOnce.Error())
	if closed < 0 || stop < closed {
		t.Errorf("the session's end (at %d) and then why run stopped (at %d) are not in the log when run returns:\n%s", closed, stop, log)
	}
}

func TestRunTimeoutExitsWithoutSessions(t *testing.T) {
	b := startRun(t, "--timeout", "0.05")
	if err := b.wait(t); err != nil {
		t.Errorf("run with --timeout: %v, want nil", err)
	}
	if log := b.stderr.String(); !strings.Contains(log, "--timeout") {
		t.Errorf("log does not mention --timeout:\n%s", log)
	}
}

func TestRunLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wsbridge.log")
	if err := os.WriteFile(path, []byte("earlier line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startRun(t, "--log-file", path)
	b.cancel()
	if err := b.wait(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "earlier line\n") || !strings.Contains(string(got), "listening on") {
		t.Errorf("log file holds %q, want the earlier line followed by the log", got)
	}
	if b.stderr.String() != "" {
		t.Errorf("stderr got %q with --log-file", b.stderr)
	}
}

func TestRunErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	missing := filepath.Join(t.TempDir(), "missing")

	tests := []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"usage", []string{"8080"}, "Too few arguments", true},
		{"address in use", []string{busy.Addr().String(), "localhost:1"}, "address already in use", false},
		{"missing --web", []string{"--web", missing, "127.0.0.1:0", "localhost:1"}, "--web", false},
		{"bad --log-file", []string{"--log-file", filepath.Join(missing, "x.log"), "127.0.0.1:0", "localhost:1"}, "--log-file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), runEnv{Args: tt.args, Stdout: &out, Stderr: &out})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if _, ok := errors.AsType[*usageError](err); ok != tt.usage {
				t.Errorf("run(%q): usage error %v, want %v", tt.args, ok, tt.usage)
			}
		})
	}
}

func TestSessionWatchRunOnce(t *testing.T) {
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	w := newSessionWatch(stop, true, 0)
	defer w.close()
	w.started()
	w.started()
	if ctx.Err() != nil {
		t.Fatalf("stopped before any session ended")
	}
	w.ended(tunnel.SessionStats{})
	if got := context.Cause(ctx); !errors.Is(got, errRunOnce) {
		t.Errorf("after the first session ended: cause %v, want %v", got, errRunOnce)
	}
}

func TestSessionWatchIdle(t *testing.T) {
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	// A timer far longer than the test: while a session is open it must not
	// run at all, which is checked directly rather than by waiting.
	w := newSessionWatch(stop, false, time.Hour)
	defer w.close()
	w.started()
	if w.idle.Stop() {
		t.Errorf("the idle timer was still running with a session open")
	}
	w.ended(tunnel.SessionStats{})
	if !w.idle.Stop() {
		t.Errorf("the idle timer was not restarted when the last session ended")
	}
	w.idleFired() // as the timer would
	if got := context.Cause(ctx); !errors.Is(got, errIdleTimeout) {
		t.Errorf("cause %v, want %v", got, errIdleTimeout)
	}

	ctx2, stop2 := context.WithCancelCause(context.Background())
	defer stop2(nil)
	w2 := newSessionWatch(stop2, false, time.Hour)
	defer w2.close()
	w2.started()
	w2.idleFired() // fired while the session was starting
	if ctx2.Err() != nil {
		t.Errorf("idle stop with a session open")
	}
}

func TestLoggerFactoryScopes(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		level  logging.LogLevel
		def    logging.LogLevel
		scopes map[string]logging.LogLevel
	}{
		{"none", nil, logging.LogLevelInfo, logging.LogLevelInfo, map[string]logging.LogLevel{}},
		{"scopes", map[string]string{"PION_LOG_DEBUG": "Tunnel, static", "PION_LOG_ERROR": "http"}, logging.LogLevelInfo, logging.LogLevelInfo,
			map[string]logging.LogLevel{"tunnel": logging.LogLevelDebug, "static": logging.LogLevelDebug, "http": logging.LogLevelError}},
		{"PIONS_ spelling", map[string]string{"PIONS_LOG_TRACE": "main"}, logging.LogLevelInfo, logging.LogLevelInfo,
			map[string]logging.LogLevel{"main": logging.LogLevelTrace}},
		{"all raises", map[string]string{"PION_LOG_TRACE": "all"}, logging.LogLevelInfo, logging.LogLevelTrace, map[string]logging.LogLevel{}},
		{"all does not lower", map[string]string{"PION_LOG_ERROR": "all"}, logging.LogLevelInfo, logging.LogLevelInfo, map[string]logging.LogLevel{}},
		{"most verbose wins", map[string]string{"PION_LOG_WARN": "tunnel", "PION_LOG_DEBUG": "tunnel"}, logging.LogLevelInfo, logging.LogLevelInfo,
			map[string]logging.LogLevel{"tunnel": logging.LogLevelDebug}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoggerFactory(io.Discard, tt.level, tt.env)
			if f.DefaultLogLevel != tt.def {
				t.Errorf("default level %v, want %v", f.DefaultLogLevel, tt.def)
			}
			if len(f.ScopeLevels) != len(tt.scopes) {
				t.Errorf("scopes %v, want %v", f.ScopeLevels, tt.scopes)
			}
			for k, v := range tt.scopes {
				if f.ScopeLevels[k] != v {
					t.Errorf("scope %q: %v, want %v", k, f.ScopeLevels[k], v)
				}
			}
		})
	}
}

func TestErrorLogWritesWarnings(t *testing.T) {
	b := testpeer.NewOutput()
	l := newErrorLog(newLoggerFactory(b, logging.LogLevelWarn, nil))
	l.Printf("http: Accept error: %s", "boom")
	if got := b.String(); !strings.Contains(got, "http WARNING: ") || !strings.Contains(got, "http: Accept error: boom\n") || strings.Contains(got, "boom\n\n") {
		t.Errorf("ErrorLog wrote %q", got)
	}
}

// TestRunLogFileReopen rotates --log-file the way logrotate does (rename,
// then SIGHUP): later lines go to a new file of the same name. Not
// parallel: its SIGHUP reaches every run in the test binary.
func TestRunLogFileReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wsbridge.log")
	b := startRun(t, "--log-file", path)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit)
	for { // the file appears with the reopen's own log line
		if got, _ := os.ReadFile(path); strings.Contains(string(got), "reopened the log file") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new log file after SIGHUP")
		}
		time.Sleep(10 * time.Millisecond) // polling interval of a bounded wait on a file
	}
	b.cancel()
	if err := b.wait(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if !strings.Contains(string(old), "listening on") || strings.Contains(string(old), "stopped") {
		t.Errorf("rotated file holds %q, want the lines before the rotation only", old)
	}
	if !strings.Contains(string(cur), "stopped") {
		t.Errorf("new file holds %q, want the lines after the rotation", cur)
	}
}

// TestRunFitsProcs: run as main calls it fits GOMAXPROCS to the load while
// it serves (internal/procs) and puts it back when it returns; GOMAXPROCS
// in the environment turns that off.
func TestRunFitsProcs(t *testing.T) {
	n := runtime.GOMAXPROCS(0)
	if n < 2 {
		t.Skip("GOMAXPROCS is 1: nothing to fit")
	}
	const line = "fitting GOMAXPROCS to the load: from 1 up to "
	for _, tc := range []struct {
		name string
		env  []string
		fit  bool
	}{
		{"default", nil, true},
		{"GOMAXPROCS set", []string{"GOMAXPROCS=" + strconv.Itoa(n)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stderr := testpeer.NewOutput()
			ready := make(chan net.Addr, 1)
			done := make(chan error, 1)
			go func() { // ends when run returns, waited for below
				done <- run(ctx, runEnv{
					Args:     []string{"-v", "127.0.0.1:0", "127.0.0.1:9"},
					Env:      tc.env,
					Stdout:   io.Discard,
					Stderr:   stderr,
					Ready:    func(a net.Addr) { ready <- a },
					FitProcs: true,
				})
			}()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("run returned before listening: %v\nlog:\n%s", err, stderr)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("run: %v\nlog:\n%s", err, stderr)
			}
			if got := strings.Contains(stderr.String(), line+strconv.Itoa(n)); got != tc.fit {
				t.Errorf("log says it fits GOMAXPROCS: %v, want %v\nlog:\n%s", got, tc.fit, stderr)
			}
			if got := runtime.GOMAXPROCS(0); got != n {
				t.Errorf("GOMAXPROCS %d after run returned, want %d", got, n)
			}
		})
	}
}
