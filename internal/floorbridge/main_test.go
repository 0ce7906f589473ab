//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// startFloor runs the floor bridge towards target until the test ends and
// returns its address.
func startFloor(t *testing.T, target string) string {
	t.Helper()
	ta, err := sockaddr(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lf.Close() })
	lfd := int(lf.Fd()) // Fd makes the descriptor blocking: call it once, before SetNonblock
	if err := unix.SetNonblock(lfd, true); err != nil {
		t.Fatal(err)
	}
	stop, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { // owned by the test: stopped through the eventfd, waited for at cleanup
		if err := serve(lfd, ta, stop); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() {
		unix.Write(stop, []byte{1, 0, 0, 0, 0, 0, 0, 0})
		wg.Wait()
		unix.Close(stop)
	})
	return ln.Addr().String()
}

// upgrade connects to the floor bridge at addr and completes the
// handshake; the reader holds what follows the 101.
func upgrade(t *testing.T, addr string) (net.Conn, *frames.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	key := frames.NewKey([16]byte{1, 2, 3})
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != frames.AcceptKey(key) {
		t.Fatalf("handshake: %d %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	return c, frames.NewReader(br, frames.RoleClient)
}

// The measuring stick must move every byte: messages of every header
// length, written in pieces that split headers and payloads, come back
// from an echoing target intact, and a Close is answered.
func TestFloorBridgeEcho(t *testing.T) {
	c, rd := upgrade(t, startFloor(t, testpeer.TCP(t, testpeer.Echo)))
	for _, n := range []int{1, 125, 126, 4000, 65535, 65536, 300000} {
		msg := testpeer.Terminal(n)
		var wire bytes.Buffer
		if err := frames.NewWriter(&wire, frames.RoleClient).WriteMessage(frames.OpBinary, msg); err != nil {
			t.Fatal(err)
		}
		// Written beside the reading: the floor's writes block, and an
		// echo of a large message fills both directions' buffers.
		var w sync.WaitGroup
		w.Go(func() {
			for b := wire.Bytes(); len(b) > 0; { // small messages in pieces of 1 to 7 bytes
				k := len(b)
				if n < 1000 {
					k = min(k, 1+len(b)%7)
				}
				if _, err := c.Write(b[:k]); err != nil {
					t.Error(err)
					return
				}
				b = b[k:]
			}
		})
		var got []byte
		for len(got) < n {
			h, err := rd.NextFrame()
			if err != nil {
				t.Fatalf("message of %d bytes: after %d: %v", n, len(got), err)
			}
			if h.Op != frames.OpBinary && h.Op != frames.OpContinuation {
				t.Fatalf("opcode %v", h.Op)
			}
			p, err := io.ReadAll(rd)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p...)
		}
		w.Wait()
		if !bytes.Equal(got, msg) {
			t.Fatalf("message of %d bytes came back changed", n)
		}
	}
	if err := frames.NewWriter(c, frames.RoleClient).WriteClose(frames.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	h, err := rd.NextFrame()
	if err != nil || h.Op != frames.OpClose {
		t.Fatalf("after Close: %v %v", h.Op, err)
	}
}

// Payload, a Ping and a Close that arrive in one read: the Ping gets its
// Pong, and the payload reaches the target before the session ends.
func TestFloorBridgeCloseAfterPayload(t *testing.T) {
	got := make(chan []byte, 1)
	target := testpeer.TCP(t, func(c *net.TCPConn) {
		b, _ := io.ReadAll(c) // until the bridge closes
		got <- b
	})
	c, rd := upgrade(t, startFloor(t, target))
	var wire bytes.Buffer
	w := frames.NewWriter(&wire, frames.RoleClient)
	if err := w.WriteMessage(frames.OpBinary, []byte("last bytes")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteControl(frames.OpPing, []byte("p")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteClose(frames.CloseNormal, "bye"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(wire.Bytes()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []frames.Opcode{frames.OpPong, frames.OpClose} {
		h, err := rd.NextFrame()
		if err != nil || h.Op != want {
			t.Fatalf("got %v, %v; want %v", h.Op, err, want)
		}
		if _, err := io.ReadAll(rd); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case b := <-got:
		if string(b) != "last bytes" {
			t.Fatalf("target got %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the target's connection did not end")
	}
}

// The close mapping is the product's: the client's Close becomes a FIN to
// the target, which may still send; what it sends reaches the client,
// and its FIN then brings the Close back (the client's code and reason)
// and the end of the connection.
func TestFloorBridgeHalfClose(t *testing.T) {
	target := testpeer.TCP(t, func(c *net.TCPConn) {
		if b, _ := io.ReadAll(c); string(b) != "before" { // until the bridge's FIN
			t.Errorf("target got %q before the FIN, want \"before\"", b)
		}
		c.Write([]byte("after"))
	})
	c, rd := upgrade(t, startFloor(t, target))
	w := frames.NewWriter(c, frames.RoleClient)
	if err := w.WriteMessage(frames.OpBinary, []byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteClose(4001, "bye"); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		h, err := rd.NextFrame()
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		p, err := io.ReadAll(rd)
		if err != nil {
			t.Fatal(err)
		}
		if h.Op == frames.OpClose {
			code, reason, err := frames.ParseClose(rd.ControlPayload())
			if err != nil || code != 4001 || reason != "bye" {
				t.Fatalf("Close %d %q (%v), want the echo 4001 \"bye\"", code, reason, err)
			}
			break
		}
		got = append(got, p...)
	}
	if string(got) != "after" {
		t.Fatalf("client got %q after its Close, want \"after\"", got)
	}
	if _, err := rd.NextFrame(); err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("after the Close: %v, want the end of the connection", err)
	}
}
