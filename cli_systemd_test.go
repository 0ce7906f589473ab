package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// listenerFile opens a TCP listener on 127.0.0.1:0 as systemd or inetd
// would, and returns its address and the *os.File to pass to a child.
func listenerFile(t *testing.T) (string, *os.File) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // the file below is a duplicate, kept open
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return ln.Addr().String(), f
}

// checkServes fetches the page from addr and echoes a message through a
// WebSocket session to the target.
func checkServes(t *testing.T, addr, target string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(target)) {
		t.Fatalf("GET / on %s: got %d, want 200 naming %s:\n%s", addr, resp.StatusCode, target, body)
	}
	c, rd, wr := wsDial(t, addr)
	defer c.Close()
	if err := wr.WriteMessage(frames.OpBinary, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	for got.Len() < 5 {
		if _, err := rd.NextFrame(); err != nil {
			t.Fatal(err)
		}
		io.Copy(&got, rd)
	}
	if got.String() != "hello" {
		t.Fatalf("echo through %s: got %q, want \"hello\"", addr, got.String())
	}
	wr.WriteClose(frames.CloseNormal, "")
}

// stopBinary sends SIGTERM and expects a clean exit.
func stopBinary(t *testing.T, p *process) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("exit: %v, want status 0\n%s", err, p.stderr)
		}
	case <-time.After(waitLimit):
		t.Fatalf("wsbridge did not exit after SIGTERM\n%s", p.stderr)
	}
}

// TestSocketActivation passes listening sockets as systemd does: fd 3 and
// up, LISTEN_FDS, LISTEN_FDNAMES, and LISTEN_PID set to the bridge's own
// pid, which only a shell exec'ing it knows ($$ survives exec).
func TestSocketActivation(t *testing.T) {
	bin := buildBinary(t)
	target := testpeer.TCP(t, testpeer.Echo)
	addr1, f1 := listenerFile(t)
	addr2, f2 := listenerFile(t)
	// The listen argument is given too, as by an ExecStart= that also works
	// without the .socket unit; systemd's sockets win.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin, "127.0.0.1:1", target)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LISTEN_FDS=2", "LISTEN_FDNAMES=https:http"}
	cmd.ExtraFiles = []*os.File{f1, f2}
	p := startCmd(t, cmd)
	for _, a := range []string{addr1, addr2} {
		checkServes(t, a, target)
	}
	stopBinary(t, p)
	log := p.stderr.String()
	for _, want := range []string{"listening on " + addr1, "listening on " + addr2, "ignoring the listen address 127.0.0.1:1"} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q:\n%s", want, log)
		}
	}
}

// TestSocketActivationNotASocket gives fd 3 as a plain file: a clear
// error and status 1, not a hang.
func TestSocketActivationNotASocket(t *testing.T) {
	bin := buildBinary(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin, "localhost:5900")
	cmd.Env = []string{"LISTEN_FDS=1"}
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !bytes.Contains(out, []byte("not a listening stream socket")) {
		t.Fatalf("got %v:\n%s\nwant status 1 and \"not a listening stream socket\"", err, out)
	}
}

// TestInetd passes the listening socket as stdin, as inetd does for
// websockify's --inetd.
func TestInetd(t *testing.T) {
	bin := buildBinary(t)
	target := testpeer.TCP(t, testpeer.Echo)
	addr, f := listenerFile(t)
	cmd := exec.Command(bin, "--inetd", target)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdin = f
	p := startCmd(t, cmd)
	if p.addr != addr {
		t.Errorf("listening on %s, want stdin's %s", p.addr, addr)
	}
	checkServes(t, addr, target)
	stopBinary(t, p)
}

// TestParseArgsInherited checks the positionals when the listening socket
// is inherited: a single argument is the target.
func TestParseArgsInherited(t *testing.T) {
	activated := []string{"LISTEN_PID=" + strconv.Itoa(os.Getpid()), "LISTEN_FDS=1"}
	tests := []struct {
		name    string
		args    []string
		env     []string
		target  string
		wantErr string
	}{
		{"activated, target only", []string{"vnc:5900"}, activated, "vnc:5900", ""},
		{"activated, listen ignored", []string{"443", "vnc:5900"}, activated, "vnc:5900", ""},
		{"activated, env listen", []string{"vnc:5900"}, append(activated, "WSBRIDGE_LISTEN=:8080"), "vnc:5900", ""},
		{"activated, no target", nil, activated, "", "Too few arguments"},
		{"another pid's sockets", []string{"vnc:5900"}, []string{"LISTEN_PID=1", "LISTEN_FDS=1"}, "", "Too few arguments"},
		{"LISTEN_FDS=0", []string{"vnc:5900"}, []string{"LISTEN_PID=" + strconv.Itoa(os.Getpid()), "LISTEN_FDS=0"}, "", "Too few arguments"},
		{"inetd", []string{"--inetd", "vnc:5900"}, nil, "vnc:5900", ""},
		{"inetd from env", []string{"vnc:5900"}, []string{"WSBRIDGE_INETD=1"}, "vnc:5900", ""},
		{"inetd, two arguments", []string{"--inetd", "443", "vnc:5900"}, nil, "", "Too many arguments"},
		{"inetd and unix-listen", []string{"--inetd", "--unix-listen", "/tmp/s", "vnc:5900"}, nil, "", "exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseArgs(tt.args, tt.env)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case s.target != tt.target:
				t.Fatalf("got target %q, want %q", s.target, tt.target)
			}
		})
	}
}

// TestSdNotify runs wsbridge under a fake systemd: a NOTIFY_SOCKET that
// must receive READY=1, WATCHDOG=1 every WATCHDOG_USEC/2, and STOPPING=1
// once the bridge is told to stop.
func TestSdNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	target := testpeer.TCP(t, testpeer.Echo)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { // ends when run returns; waited for below
		done <- run(ctx, runEnv{
			Args:   []string{"127.0.0.1:0", target},
			Env:    []string{"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000"},
			Stdout: io.Discard,
			Stderr: io.Discard,
		})
	}()

	// next returns the next datagram's lines.
	next := func() []string {
		t.Helper()
		sock.SetReadDeadline(time.Now().Add(waitLimit))
		buf := make([]byte, 4096)
		n, err := sock.Read(buf)
		if err != nil {
			t.Fatalf("reading NOTIFY_SOCKET: %v", err)
		}
		return strings.Split(string(buf[:n]), "\n")
	}
	// expect reads datagrams until one holds line, and returns them all.
	expect := func(line string) []string {
		t.Helper()
		var seen []string
		for {
			msg := next()
			seen = append(seen, msg...)
			for _, l := range msg {
				if l == line {
					return seen
				}
			}
		}
	}
	if seen := expect("READY=1"); len(seen) != 2 || !strings.HasPrefix(seen[1], "STATUS=listening on 127.0.0.1:") {
		t.Errorf("got %q, want READY=1 and a STATUS=listening line first", seen)
	}
	for range 2 {
		if msg := next(); len(msg) != 1 || msg[0] != "WATCHDOG=1" {
			t.Errorf("got %q, want WATCHDOG=1 while running", msg)
		}
	}
	cancel()
	expect("STOPPING=1")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("run did not return after cancel")
	}
}

// TestSdNotifyUnset checks that without NOTIFY_SOCKET nothing is sent
// and nothing fails: every method of a nil notifier is a no-op.
func TestSdNotifyUnset(t *testing.T) {
	n, err := newNotifier(map[string]string{"WATCHDOG_USEC": "1000"})
	if n != nil || err != nil {
		t.Fatalf("got %v, %v, want nil, nil", n, err)
	}
	if err := n.notify("READY=1"); err != nil {
		t.Errorf("notify: %v", err)
	}
	n.keepAlive(context.Background()) // returns at once
	n.close()
}

// TestSystemdUnitsVerify runs systemd-analyze verify on the units, with
// ExecStart pointing at a freshly built binary (verify checks that it is
// executable). Any warning fails the test.
func TestSystemdUnitsVerify(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found (systemd is not installable in this container; run on a systemd host)")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, name := range []string{"wsbridge.service", "wsbridge.socket", "wsbridge@.service"} {
		b, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		if name != "wsbridge.socket" && !bytes.Contains(b, []byte("\nExecStart=/usr/local/bin/wsbridge\n")) {
			t.Errorf("%s: no ExecStart=/usr/local/bin/wsbridge", name)
		}
		b = bytes.ReplaceAll(b, []byte("/usr/local/bin/wsbridge"), []byte(bin))
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(tool, "verify", "--man=no", "wsbridge.service", "wsbridge.socket", "wsbridge@instance.service")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestEnvExample: every WSBRIDGE_* variable the example environment file
// names, commented out or not, is one wsbridge reads, and the file's
// active settings parse.
func TestEnvExample(t *testing.T) {
	data, err := os.ReadFile("systemd/env.example")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, o := range optionsOf(reflect.TypeFor[Config]()) {
		known[o] = true
	}
	var active []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		setting := strings.TrimPrefix(line, "#")
		name, _, ok := strings.Cut(setting, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		if !known[name] {
			t.Errorf("env.example names %s, which is not an option", name)
		}
		if !strings.HasPrefix(line, "#") {
			active = append(active, line)
		}
	}
	if _, err := parseArgs(nil, active); err != nil {
		t.Errorf("env.example's settings %q: %v", active, err)
	}
}

// optionsOf lists the environment variables of Config's fields.
func optionsOf(typ reflect.Type) []string {
	var names []string
	for f := range typ.Fields() {
		if e := f.Tag.Get("env"); e != "" {
			names = append(names, envPrefix+e)
		}
	}
	return names
}
