package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"wsbridge/frames"
)

// TestEchoSubcommand starts `wsbridge echo 127.0.0.1:0`, echoes a text
// message through it and stops it with the context.
func TestEchoSubcommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, runEnv{Args: []string{"echo", "127.0.0.1:0"}, Stdout: io.Discard, Stderr: io.Discard, Ready: func(a net.Addr) { ready <- a }})
	}()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("echo exited early: %v", err)
	}
	c, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("got status %d, want 101", resp.StatusCode)
	}
	wr := frames.NewWriter(c, frames.RoleClient)
	if err := wr.WriteMessage(frames.OpText, []byte("héllo")); err != nil {
		t.Fatal(err)
	}
	rd := frames.NewReader(br, frames.RoleClient)
	h, err := rd.NextFrame()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	if h.Op != frames.OpText || string(got) != "héllo" {
		t.Fatalf("got %v %q, want text %q", h.Op, got, "héllo")
	}
	// A live connection must not keep the command from stopping.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("echo returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("echo did not stop")
	}
	if _, err := rd.NextFrame(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("connection still open after stop: %v", err)
	}
}
