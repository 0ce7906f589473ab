package main

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
	"wsbridge/internal/testpeer"
)

// BenchmarkCompressDown measures what permessage-deflate does to the
// target→client path through the real binary: bytes on the wire per
// payload byte (wire/B) and the bridge process's CPU per GB of payload
// (bridge-cpu-s/GB, from /proc/PID/stat), with --compress off and on, for
// random data (ssh, already compressed encodings) and a VNC raw-encoding
// framebuffer. The client offers what Chromium offers.
//
//	go test -run '^$' -bench CompressDown -benchtime 2000x .
func BenchmarkCompressDown(b *testing.B) {
	bin := testpeer.BuildBridge(b)
	random := make([]byte, 4<<20)
	rand.Read(random)
	for _, data := range []struct {
		name string
		b    []byte
	}{{"random", random}, {"vnc", testpeer.Framebuffer(1280, 819)}} {
		for _, compress := range []string{"off", "on"} {
			b.Run(data.name+"/compress="+compress, func(b *testing.B) {
				benchCompressDown(b, bin, data.b, compress)
			})
		}
	}
}

func benchCompressDown(b *testing.B, bin string, data []byte, compress string) {
	const chunk = 64 << 10
	target := testpeer.TCP(b, func(c *net.TCPConn) {
		for i := range b.N {
			off := (i * chunk) % (len(data) - chunk)
			if _, err := c.Write(data[off : off+chunk]); err != nil {
				return
			}
		}
		c.CloseWrite()
		io.Copy(io.Discard, c)
	})
	cmd := execBridge(bin, "--compress", compress, "127.0.0.1:0", target)
	p := testpeer.StartBridge(b, cmd)
	conn, err := net.Dial("tcp", p.Addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	cc := &wireCounter{Conn: conn}
	ext, _ := deflate.New(deflate.Options{})
	fmt.Fprintf(cc, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: %s\r\n\r\n", ext.Offer())
	br := bufio.NewReaderSize(cc, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("handshake: %v %v", resp, err)
	}
	params, agreed, err := ext.Accept(resp.Header.Values("Sec-WebSocket-Extensions"))
	if err != nil || agreed != (compress == "on") {
		b.Fatalf("extension %q: agreed %v, %v", resp.Header.Values("Sec-WebSocket-Extensions"), agreed, err)
	}
	fr := frames.NewReader(br, frames.RoleClient)
	var rd interface {
		NextFrame() (frames.Header, error)
		Read([]byte) (int, error)
	} = fr
	if agreed {
		dr := ext.NewReader(fr, frames.RoleClient, params)
		defer dr.Release()
		rd = dr
	}
	cpu0 := procCPU(b, p.Cmd.Process.Pid)
	wire0 := cc.n.Load() - int64(br.Buffered()) // the reader may be ahead of the handshake
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	var got int64
	buf := make([]byte, 64<<10)
	for {
		h, err := rd.NextFrame()
		if err != nil {
			b.Fatal(err)
		}
		if h.Op == frames.OpClose {
			break
		}
		for {
			n, err := rd.Read(buf)
			got += int64(n)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	if want := int64(b.N) * chunk; got != want {
		b.Fatalf("got %d B, want %d", got, want)
	}
	b.ReportMetric(float64(cc.n.Load()-wire0)/float64(got), "wire/B")
	b.ReportMetric((procCPU(b, p.Cmd.Process.Pid)-cpu0)/(float64(got)/1e9), "bridge-cpu-s/GB")
}

// execBridge prepares the binary with args and the PATH only.
func execBridge(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	return cmd
}

// wireCounter counts the bytes read from a connection.
type wireCounter struct {
	net.Conn
	n atomic.Int64
}

func (c *wireCounter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// procCPU returns a process's user+system CPU seconds so far.
func procCPU(b *testing.B, pid int) float64 {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}
