package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// namedTarget greets every connection with its name and a newline, then
// echoes, so a client can tell which target a token led to.
func namedTarget(t *testing.T, name string) string {
	return testpeer.TCP(t, func(c *net.TCPConn) {
		io.WriteString(c, name+"\n")
		testpeer.Echo(c)
	})
}

// session is a WebSocket through the load balancer.
type session struct {
	conn net.Conn
	rd   *frames.Reader
	wr   *frames.Writer
	br   *bufio.Reader // reads the payload stream across frames
}

func (s *session) Read(p []byte) (int, error) {
	for {
		n, err := s.rd.Read(p)
		if n > 0 || (err != nil && err != io.EOF) {
			return n, err
		}
		h, err := s.rd.NextFrame()
		if err != nil {
			return 0, err
		}
		if h.Op == frames.OpClose {
			return 0, io.EOF
		}
	}
}

// open connects with token through addr and returns the target's greeting.
func openSession(t *testing.T, addr, token string) (*session, string) {
	t.Helper()
	// From 127.0.0.2, so that the client's address differs from the
	// load balancer's in the bridges' logs.
	d := net.Dialer{Timeout: waitLimit, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * waitLimit))
	fmt.Fprintf(c, "GET /websockify?token=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", token, addr)
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, " 101 ") {
		rest, _ := io.ReadAll(io.LimitReader(br, 512))
		t.Fatalf("token %s: handshake answered %q %v\n%s", token, line, err, rest)
	}
	for { // the rest of the response head
		if l, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		} else if l == "\r\n" {
			break
		}
	}
	s := &session{conn: c, rd: frames.NewReader(br, frames.RoleClient), wr: frames.NewWriter(c, frames.RoleClient)}
	s.br = bufio.NewReader(s)
	greeting, err := s.br.ReadString('\n')
	if err != nil {
		t.Fatalf("token %s: no greeting: %v", token, err)
	}
	return s, strings.TrimSpace(greeting)
}

// echo sends msg and checks it comes back.
func (s *session) echo(t *testing.T, msg string) {
	t.Helper()
	if err := s.wr.WriteMessage(frames.OpBinary, []byte(msg+"\n")); err != nil {
		t.Fatal(err)
	}
	got, err := s.br.ReadString('\n')
	if err != nil || got != msg+"\n" {
		t.Fatalf("echo: got %q %v, want %q", got, err, msg)
	}
}

// TestScaleOut runs two bridges sharing one Redis token store behind
// HAProxy: tokens created in Redis route through either bridge, and a
// session survives the other bridge being stopped.
func TestScaleOut(t *testing.T) {
	haproxy := testpeer.Need(t, "haproxy", "haproxy")
	redis := testpeer.Redis(t)
	bin := buildBinary(t)
	t1, t2 := namedTarget(t, "t1"), namedTarget(t, "t2")
	if r := testpeer.RedisCommand(t, redis, "SET", "vm1", t1); r != "+OK\r\n" {
		t.Fatalf("redis SET: %q", r)
	}
	testpeer.RedisCommand(t, redis, "SET", "vm2", `{"host": "`+t2+`"}`)

	args := []string{"--token-plugin", "TokenRedis", "--token-source", redis, "--trusted-proxy", "127.0.0.1", "127.0.0.1:0"}
	b1 := startBinary(t, bin, nil, args...)
	b2 := startBinary(t, bin, nil, args...)

	lb := net.JoinHostPort("127.0.0.1", strconv.Itoa(testpeer.FreePort(t)))
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global
	maxconn 256
defaults
	mode http
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	timeout tunnel 1h
	option redispatch
	retries 3
frontend fe
	bind %s
	default_backend bridges
backend bridges
	balance roundrobin
	option forwardfor
	server b1 %s check inter 100ms fall 1 rise 1
	server b2 %s check inter 100ms fall 1 rise 1
`, lb, b1.addr, b2.addr)), 0o600)
	testpeer.Start(t, haproxy, "-db", "-f", cfg)
	waitListening(t, lb)

	opened := func(p *process) int { return p.stderr.Count(") opened") }
	for i, tc := range []struct{ token, want string }{{"vm1", "t1"}, {"vm2", "t2"}, {"vm1", "t1"}, {"vm2", "t2"}} {
		s, greeting := openSession(t, lb, tc.token)
		if greeting != tc.want {
			t.Fatalf("token %s: reached %q, want %q", tc.token, greeting, tc.want)
		}
		s.echo(t, fmt.Sprintf("hello %d", i))
		s.conn.Close()
	}
	// Each bridge logs a session just after its 101, and writes its log
	// a few milliseconds later (BatchLog): wait for the four lines.
	if !testpeer.WaitForAll(") opened", 4, waitLimit, b1.stderr, b2.stderr) {
		t.Fatalf("%d sessions in the bridges' logs after %v, want 4", opened(b1)+opened(b2), waitLimit)
	}
	if opened(b1) == 0 || opened(b2) == 0 {
		t.Fatalf("sessions per bridge: %d and %d, want both used", opened(b1), opened(b2))
	}
	if !strings.Contains(b1.stderr.String()+b2.stderr.String(), "127.0.0.2 via 127.0.0.1:") {
		t.Errorf("logs do not show the client address forwarded by the load balancer")
	}

	// A token created now works at once: Redis is asked per connection.
	testpeer.RedisCommand(t, redis, "SET", "vm3", t1)
	before1, before2 := opened(b1), opened(b2)
	live, greeting := openSession(t, lb, "vm3")
	if greeting != "t1" {
		t.Fatalf("token vm3: reached %q, want t1", greeting)
	}
	// The bridge logs the session just after the 101: wait for the line.
	other := b2
	if !b1.stderr.WaitFor(") opened", 2*time.Second, before1+1) {
		other = b1
		if !b2.stderr.WaitFor(") opened", waitLimit, before2+1) {
			t.Fatal("neither bridge logged the new session")
		}
	}
	other.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-other.exited:
	case <-time.After(waitLimit):
		t.Fatal("the other bridge did not stop")
	}
	live.echo(t, "still here")
	for i := range 3 { // new sessions go to the bridge that is left
		s, greeting := openSession(t, lb, "vm2")
		if greeting != "t2" {
			t.Fatalf("after stop %d: reached %q, want t2", i, greeting)
		}
		s.echo(t, "after stop")
		s.conn.Close()
	}
	live.echo(t, "still here at the end")
}

// waitListening waits, bounded, until something accepts on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond) // poll interval: haproxy says nothing when it is ready
	}
}
