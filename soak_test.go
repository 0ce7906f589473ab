//go:build soak

package main

import (
	"bufio"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
	"wsbridge/internal/testpeer"
)

// The soak test is not part of the default run (build tag soak):
//
//	go test -tags soak -run TestSoak -v -timeout 30m .
//	SOAK_CONNS=9000 SOAK_DURATION=10m (the defaults), SOAK_COMPRESS=1
//	to offer permessage-deflate on every session
//
// It holds SOAK_CONNS sessions through the real binary for SOAK_DURATION
// with a round trip on a tenth of them every second, in turn (every session
// sends within 10 s, inside the 30 s heartbeat), and samples the
// bridge's own metrics: resident memory must stay flat, and open fds and
// goroutines must not grow.

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// soakClient is one held session.
type soakClient struct {
	c  net.Conn
	rd interface {
		NextFrame() (frames.Header, error)
		Read([]byte) (int, error)
		ControlPayload() []byte
	}
	wr interface {
		WriteMessage(frames.Opcode, []byte) error
		WriteControl(frames.Opcode, []byte) error
	}
}

// soakDial opens a session, offering permessage-deflate if ext is set.
func soakDial(addr string, ext *deflate.Extension) (*soakClient, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n", addr, offer(ext))
	br := bufio.NewReaderSize(c, 256)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	c.SetDeadline(time.Time{})
	fr, fw := frames.NewReader(br, frames.RoleClient), frames.NewWriter(c, frames.RoleClient)
	if ext == nil {
		return &soakClient{c: c, rd: fr, wr: fw}, nil
	}
	p, ok, err := ext.Accept(resp.Header.Values("Sec-WebSocket-Extensions"))
	if err != nil || !ok {
		c.Close()
		return nil, fmt.Errorf("permessage-deflate not agreed: %v", err)
	}
	return &soakClient{c: c, rd: ext.NewReader(fr, frames.RoleClient, p), wr: ext.NewWriter(fw, frames.RoleClient, p)}, nil
}

// offer is the Sec-WebSocket-Extensions request line for ext, if any.
func offer(ext *deflate.Extension) string {
	if ext == nil {
		return ""
	}
	return "Sec-WebSocket-Extensions: " + ext.Offer() + "\r\n"
}

// roundTrip sends 64 bytes and reads them back.
func (s *soakClient) roundTrip(msg []byte) error {
	s.c.SetDeadline(time.Now().Add(30 * time.Second))
	defer s.c.SetDeadline(time.Time{})
	if err := s.wr.WriteMessage(frames.OpBinary, msg); err != nil {
		return err
	}
	got := 0
	buf := make([]byte, 2*len(msg))
	for got < len(msg) {
		h, err := s.rd.NextFrame()
		if err != nil {
			return err
		}
		if h.Op == frames.OpPing { // the bridge's heartbeat
			if err := s.wr.WriteControl(frames.OpPong, s.rd.ControlPayload()); err != nil {
				return err
			}
		}
		if h.Op.IsControl() {
			continue
		}
		for err == nil {
			var n int
			n, err = s.rd.Read(buf[got:])
			got += n
		}
		if err != io.EOF {
			return err
		}
	}
	if string(buf[:got]) != string(msg) {
		return fmt.Errorf("echo differs")
	}
	return nil
}

type soakSample struct {
	at                      time.Duration
	rss, fds, goroutines    float64
	active, bytesUp, closes float64
}

func TestSoak(t *testing.T) {
	conns := envInt("SOAK_CONNS", 9000)
	dur, err := time.ParseDuration(os.Getenv("SOAK_DURATION"))
	if err != nil || dur <= 0 {
		dur = 10 * time.Minute
	}
	bin := buildBinary(t)
	target := testpeer.TCP(t, testpeer.Echo)
	maddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	p := startBinary(t, bin, []string{"WSBRIDGE_METRICS_LISTEN=" + maddr, "WSBRIDGE_HEARTBEAT=30"}, "127.0.0.1:0", target)
	measure := func(at time.Duration) soakSample {
		_, body := scrape(t, "http://"+maddr+"/metrics")
		return soakSample{
			at:         at,
			rss:        sample(body, "process_resident_memory_bytes"),
			fds:        sample(body, "process_open_fds"),
			goroutines: sample(body, "go_goroutines"),
			active:     sample(body, "wsbridge_connections_active"),
			bytesUp:    sample(body, `wsbridge_bytes_total{direction="up"}`),
		}
	}
	base := measure(0)

	var ext *deflate.Extension
	if os.Getenv("SOAK_COMPRESS") == "1" {
		ext, _ = deflate.New(deflate.Options{})
	}
	clients := make([]*soakClient, 0, conns)
	t.Cleanup(func() {
		for _, c := range clients {
			c.c.Close()
		}
	})
	for i := range conns {
		c, err := soakDial(p.addr, ext)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		clients = append(clients, c)
	}
	start := time.Now()
	first := measure(0)
	t.Logf("%d sessions held: bridge RSS %.1f MiB (%.1f KiB per session over the idle process), %v fds, %v goroutines",
		conns, first.rss/(1<<20), (first.rss-base.rss)/1024/float64(conns), first.fds, first.goroutines)
	if first.active != float64(conns) {
		t.Fatalf("active sessions %v, want %d", first.active, conns)
	}

	rng := mrand.New(mrand.NewPCG(1, 2))
	msg := make([]byte, 64)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	samples := []soakSample{first}
	next := 0
	trips := 0
	for time.Since(start) < dur {
		<-tick.C
		for range conns / 10 {
			c := clients[next]
			next = (next + 1) % len(clients)
			for i := range msg {
				msg[i] = byte(rng.Uint32())
			}
			if err := c.roundTrip(msg); err != nil {
				t.Fatalf("round trip after %v: %v", time.Since(start).Round(time.Second), err)
			}
			trips++
		}
		if n := len(samples); time.Since(start) >= time.Duration(n)*dur/10 {
			s := measure(time.Since(start))
			samples = append(samples, s)
			t.Logf("%v: RSS %.1f MiB, %v fds, %v goroutines, %v active, %d round trips", s.at.Round(time.Second), s.rss/(1<<20), s.fds, s.goroutines, s.active, trips)
		}
	}
	last := samples[len(samples)-1]
	// The first minutes settle (GC, pools); flat means the last sample is
	// within 10% of the peak of the first third.
	var early float64
	for _, s := range samples[:max(1, len(samples)/3)] {
		early = max(early, s.rss)
	}
	if last.rss > early*1.10 {
		t.Errorf("RSS grew from %.1f MiB to %.1f MiB", early/(1<<20), last.rss/(1<<20))
	}
	if last.fds > first.fds+5 || last.goroutines > first.goroutines+5 || last.active != float64(conns) {
		t.Errorf("grew: fds %v → %v, goroutines %v → %v, active %v", first.fds, last.fds, first.goroutines, last.goroutines, last.active)
	}
}
