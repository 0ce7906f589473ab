package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// End-to-end tests of `wsbridge client`: the real binary as ssh's
// ProxyCommand against a real sshd behind wsbridge (and behind Debian's
// websockify), the --listen mode with plain TCP clients, and the exit
// status in each way a tunnel ends.

// sshCopySize is how much is copied each way through ssh.
const sshCopySize = 50 << 20

// sshVia returns a function running one ssh command through
// `wsbridge client URL` as ProxyCommand, with stdin and stdout given.
func sshVia(t *testing.T, bin, url, key string) func(remote string, stdin io.Reader, stdout io.Writer) error {
	sshBin := testpeer.Need(t, "ssh", "openssh-client")
	return func(remote string, stdin io.Reader, stdout io.Writer) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, sshBin, "-F", "/dev/null",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-i", key,
			"-o", "ProxyCommand="+bin+" client "+url,
			"root@sshd", remote)
		var stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("ssh %q: %w\n%s", remote, err, stderr.String())
		}
		return nil
	}
}

// randomFile writes n pseudo-random bytes to a new file and returns its
// path and sha256.
func randomFile(t *testing.T, n int) (string, [sha256.Size]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "random")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	var seed [32]byte
	seed[0] = byte(n)
	r := io.LimitReader(rand.NewChaCha8(seed), int64(n))
	if _, err := io.Copy(io.MultiWriter(f, h), r); err != nil {
		t.Fatal(err)
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return path, sum
}

func fileSum(t *testing.T, path string) ([sha256.Size]byte, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return sum, n
}

// sshRoundTrip runs `echo hello`, then copies size bytes up with
// `cat > FILE` and down with `cat FILE`, comparing sha256 each way.
func sshRoundTrip(t *testing.T, ssh func(string, io.Reader, io.Writer) error, size int) {
	var out bytes.Buffer
	if err := ssh("echo hello", nil, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello\n" {
		t.Fatalf("echo hello: got %q, want %q", out.String(), "hello\n")
	}

	local, want := randomFile(t, size)
	remote := filepath.Join(t.TempDir(), "remote") // sshd runs here, on loopback
	in, err := os.Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	start := time.Now()
	if err := ssh("cat > "+remote, in, io.Discard); err != nil {
		t.Fatal(err)
	}
	up := time.Since(start)
	if got, n := fileSum(t, remote); got != want || n != int64(size) {
		t.Fatalf("upload: remote file has %d bytes, sha256 %x; want %d, %x", n, got, size, want)
	}

	local2 := filepath.Join(t.TempDir(), "back")
	f, err := os.Create(local2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start = time.Now()
	if err := ssh("cat "+remote, nil, f); err != nil {
		t.Fatal(err)
	}
	down := time.Since(start)
	if got, n := fileSum(t, local2); got != want || n != int64(size) {
		t.Fatalf("download: got %d bytes, sha256 %x; want %d, %x", n, got, size, want)
	}
	mb := float64(size) / (1 << 20)
	t.Logf("%.0f MiB up in %v (%.0f MiB/s), down in %v (%.0f MiB/s)", mb,
		up.Round(time.Millisecond), mb/up.Seconds(), down.Round(time.Millisecond), mb/down.Seconds())
}

// TestClientSSH: ssh with `wsbridge client` as ProxyCommand, through
// wsbridge in server mode, to a real sshd.
func TestClientSSH(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	sshd, key := testpeer.SSHDWithUser(t)
	b := startBridge(t, "127.0.0.1:0", sshd)
	sshRoundTrip(t, sshVia(t, bin, "ws://"+b.addr+"/", key), sshCopySize)
}

// TestClientSSHWebsockify: the same through Debian's websockify as the
// server.
func TestClientSSHWebsockify(t *testing.T) {
	t.Parallel()
	ws := testpeer.Need(t, "websockify", "websockify")
	bin := buildBinary(t)
	sshd, key := testpeer.SSHDWithUser(t)
	port := testpeer.FreePort(t)
	p := testpeer.Start(t, ws, "127.0.0.1:"+strconv.Itoa(port), sshd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if !p.Output.WaitFor("proxying from", waitLimit) {
		t.Fatalf("websockify did not start:\n%s", p.Output)
	}
	sshRoundTrip(t, sshVia(t, bin, "ws://"+addr+"/", key), sshCopySize)
}

// TestClientListen: --listen carries plain TCP clients, each over its own
// WebSocket, half-close included; with --compress, each compressed.
func TestClientListen(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	t.Run("plain", func(t *testing.T) { clientListen(t, bin, false) })
	t.Run("--compress", func(t *testing.T) { clientListen(t, bin, true) })
}

func clientListen(t *testing.T, bin string, compress bool) {
	b := startBridge(t, "127.0.0.1:0", testpeer.TCP(t, testpeer.Echo))
	args := []string{"client", "--listen", "127.0.0.1:0", "ws://" + b.addr + "/"}
	if compress {
		args = append(args, "--compress")
	}
	p := startBinary(t, bin, nil, args...)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { // one TCP client; ends when its echo is read
			c, err := net.DialTimeout("tcp", p.addr, waitLimit)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(waitLimit))
			msg := bytes.Repeat([]byte{byte('a' + i)}, (i+1)<<18)
			if _, err := c.Write(msg); err != nil {
				t.Error(err)
				return
			}
			c.(*net.TCPConn).CloseWrite()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, msg) {
				t.Errorf("client %d: got %d bytes (%v), want %d echoed", i, len(got), err, len(msg))
			}
		})
	}
	wg.Wait()
	if !b.stderr.WaitFor("session closed", waitLimit, 4) {
		t.Fatalf("want 4 closed sessions in the bridge's log:\n%s", b.stderr)
	}
	if got, want := b.stderr.Count("compressed=true"), map[bool]int{true: 4, false: 0}[compress]; got != want {
		t.Errorf("%d compressed sessions, want %d", got, want)
	}
}

// rawServer answers each connection's upgrade with answer.
func rawServer(t *testing.T, answer func(c *net.TCPConn, br *bufio.Reader, key string)) string {
	return testpeer.TCP(t, func(c *net.TCPConn) {
		c.SetDeadline(time.Now().Add(waitLimit))
		br := bufio.NewReader(c)
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		answer(c, br, r.Header.Get("Sec-WebSocket-Key"))
	})
}

func write101(c net.Conn, key string) {
	fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: binary\r\n\r\n", frames.AcceptKey(key))
}

// TestClientExit: the exit status and message for each way a tunnel
// ends, with stdin and stdout as ssh would give them.
func TestClientExit(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	replyAfterFIN := testpeer.TCP(t, func(c *net.TCPConn) {
		n, _ := io.Copy(io.Discard, c)
		fmt.Fprintf(c, "got %d bytes", n)
		c.CloseWrite()
	})
	halfClose := startBridge(t, "127.0.0.1:0", replyAfterFIN)
	closesFirst := startBridge(t, "127.0.0.1:0", testpeer.TCP(t, func(c *net.TCPConn) { io.WriteString(c, "bye") }))
	refused := rawServer(t, func(c *net.TCPConn, br *bufio.Reader, key string) {
		io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 14\r\n\r\nunknown token\n")
	})
	reset := rawServer(t, func(c *net.TCPConn, br *bufio.Reader, key string) {
		write101(c, key)
		c.Write([]byte{0x82, 4, 'p', 'a', 'r', 't'})
		c.SetLinger(0) // the close is a RST
	})

	tests := []struct {
		name       string
		addr       string
		stdin      io.Reader // nil: open until the test ends
		wantOut    string
		wantErr    string // "" for exit 0; else in stderr
		extraFlags []string
	}{
		{"stdin EOF then reply", halfClose.addr, strings.NewReader("twelve bytes"), "got 12 bytes", "", nil},
		{"server closes first", closesFirst.addr, nil, "bye", "", []string{"--heartbeat", "5"}},
		{"refused", refused, strings.NewReader(""), "", "handshake refused: 403 Forbidden: unknown token", nil},
		{"reset", reset, nil, "part", "tunnel dropped without a Close frame", nil},
		{"bad flag", "x", nil, "", "flag provided but not defined", []string{"--nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			args := append([]string{"client"}, tt.extraFlags...)
			cmd := exec.CommandContext(ctx, bin, append(args, "ws://"+tt.addr+"/")...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			if tt.stdin != nil {
				cmd.Stdin = tt.stdin
			} else {
				pr, pw, err := os.Pipe() // stdin that never ends, as ssh's
				if err != nil {
					t.Fatal(err)
				}
				defer pw.Close()
				defer pr.Close()
				cmd.Stdin = pr
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("wsbridge client still running after %v", waitLimit)
			}
			if stdout.String() != tt.wantOut {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantOut)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("exit: %v, want 0; stderr:\n%s", err, stderr.String())
				}
				return
			}
			if err == nil || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("exit %v, stderr %q; want non-zero with %q", err, stderr.String(), tt.wantErr)
			}
		})
	}
}

// TestClientTLS: wss:// with --ca, --insecure and --header, through the
// binary.
func TestClientTLS(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	ca := testpeer.NewCA(t, "client test CA")
	_, certFile, keyFile := ca.Issue(t, "localhost", x509.ExtKeyUsageServerAuth)
	b := startBridge(t, "--cert", certFile, "--key", keyFile, "127.0.0.1:0", testpeer.TCP(t, testpeer.Echo))
	caFile := ca.File(t)
	tests := []struct {
		name    string
		flags   []string
		wantErr string
	}{
		{"--ca", []string{"--ca", caFile, "--header", "Authorization: Bearer abc"}, ""},
		{"--insecure", []string{"--insecure"}, ""},
		{"unknown CA", nil, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{"client"}, tt.flags...), "wss://"+b.addr+"/")
			cmd := exec.Command(bin, args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			cmd.Stdin = strings.NewReader("over wss")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.WaitDelay = waitLimit
			err := cmd.Run()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(stderr.String(), tt.wantErr) {
					t.Errorf("exit %v, stderr %q; want non-zero with %q", err, stderr.String(), tt.wantErr)
				}
				return
			}
			if err != nil || stdout.String() != "over wss" {
				t.Errorf("got %q, exit %v; want %q, 0; stderr:\n%s", stdout.String(), err, "over wss", stderr.String())
			}
		})
	}
}
