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
	"wsbridge/frames/deflate"
)

// TestEchoSubcommand starts `wsbridge echo 127.0.0.1:0`, echoes a text
// message through it and stops it with the context; with --compress, the
// message goes compressed both ways.
func TestEchoSubcommand(t *testing.T) {
	t.Run("plain", func(t *testing.T) { echoSubcommand(t, false) })
	t.Run("--compress", func(t *testing.T) { echoSubcommand(t, true) })
}

func echoSubcommand(t *testing.T, compress bool) {
	args, offer := []string{"echo", "127.0.0.1:0"}, ""
	if compress {
		args, offer = []string{"echo", "--compress", "127.0.0.1:0"}, "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, runEnv{Args: args, Stdout: io.Discard, Stderr: io.Discard, Ready: func(a net.Addr) { ready <- a }})
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
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n", offer)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("got status %d, want 101", resp.StatusCode)
	}
	fw, fr := frames.NewWriter(c, frames.RoleClient), frames.NewReader(br, frames.RoleClient)
	var wr interface {
		WriteMessage(frames.Opcode, []byte) error
	} = fw
	var rd interface {
		NextFrame() (frames.Header, error)
		Read([]byte) (int, error)
	} = fr
	if compress {
		ext, _ := deflate.New(deflate.Options{})
		p, ok, err := ext.Accept(resp.Header.Values("Sec-WebSocket-Extensions"))
		if err != nil || !ok {
			t.Fatalf("extensions %q: %v %v, want permessage-deflate", resp.Header.Values("Sec-WebSocket-Extensions"), ok, err)
		}
		wr, rd = ext.NewWriter(fw, frames.RoleClient, p), ext.NewReader(fr, frames.RoleClient, p)
	}
	if err := wr.WriteMessage(frames.OpText, []byte("héllo")); err != nil {
		t.Fatal(err)
	}
	h, err := rd.NextFrame()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	if h.Op != frames.OpText || string(got) != "héllo" || (h.Rsv&frames.Rsv1 != 0) != compress {
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
