package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// TestPipeRoundTrip sends a few MiB through wsbridge's tunnel server to an
// echo target and back: the same bytes arrive, and the end of the input
// ends the session cleanly once everything is back.
func TestPipeRoundTrip(t *testing.T) {
	t.Parallel()
	const size = 4<<20 + 12345
	data := make([]byte, size)
	rand.Read(data)
	addr := bridge(t, testpeer.TCP(t, testpeer.Echo), nil)
	out := newHashWriter()
	if err := pipe(t, &Dialer{}, "ws://"+addr+"/", out, bytes.NewReader(data)); err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	if out.n != size {
		t.Fatalf("got %d bytes back, want %d", out.n, size)
	}
	if got, want := out.sum(), sha256.Sum256(data); got != want {
		t.Errorf("sha256 of the echo %x, want %x", got, want)
	}
}

// TestPipeHalfClose: the end of the input reaches the target as a FIN,
// and the target's answer, sent after it, still arrives.
func TestPipeHalfClose(t *testing.T) {
	t.Parallel()
	target := testpeer.TCP(t, func(c *net.TCPConn) {
		n, err := io.Copy(io.Discard, c) // until the FIN
		if err != nil {
			return
		}
		fmt.Fprintf(c, "FIN after %d bytes", n)
		c.CloseWrite()
	})
	addr := bridge(t, target, nil)
	var out bytes.Buffer
	if err := pipe(t, &Dialer{}, "ws://"+addr+"/", &out, strings.NewReader("hello, target")); err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	if got, want := out.String(), "FIN after 13 bytes"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestPipeServerClosesFirst: the target closes while the input is still
// open; Pipe delivers what came before, interrupts its input and ends
// cleanly.
func TestPipeServerClosesFirst(t *testing.T) {
	t.Parallel()
	target := testpeer.TCP(t, func(c *net.TCPConn) { io.WriteString(c, "bye") })
	addr := bridge(t, target, nil)
	src, _ := localPair(t) // never sends, never ends
	var out bytes.Buffer
	if err := pipe(t, &Dialer{}, "ws://"+addr+"/", &out, src); err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	if out.String() != "bye" {
		t.Errorf("got %q, want %q", out.String(), "bye")
	}
}

// TestPipeErrors: every way a tunnel ends badly is an error saying so.
func TestPipeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		server func(c *net.TCPConn, br *bufio.Reader, r *http.Request)
		check  func(error) bool
	}{
		{"reset", func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
			_, wr := accept101(c, br, r, "binary")
			wr.WriteMessage(frames.OpBinary, []byte("partial"))
			c.SetLinger(0) // Close sends a RST
		}, func(err error) bool { return errors.Is(err, ErrDropped) }},
		{"eof without close", func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
			accept101(c, br, r, "binary")
		}, func(err error) bool { return errors.Is(err, ErrDropped) }},
		{"close 1011", func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
			rd, wr := accept101(c, br, r, "binary")
			wr.WriteClose(frames.CloseInternalError, "Target connection error")
			rd.NextFrame() // the echo
		}, func(err error) bool {
			var ce *CloseError
			return errors.As(err, &ce) && ce.Code == frames.CloseInternalError
		}},
		{"masked frame", func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
			_, _ = accept101(c, br, r, "binary")
			wr := frames.NewWriter(c, frames.RoleClient) // masks: forbidden from a server
			wr.WriteMessage(frames.OpBinary, []byte("x"))
			io.Copy(io.Discard, br)
		}, func(err error) bool { return errors.Is(err, frames.ErrMaskedFrame) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := fakeServer(t, tt.server)
			src, _ := localPair(t)
			err := pipe(t, &Dialer{}, "ws://"+addr+"/", io.Discard, src)
			if err == nil || !tt.check(err) {
				t.Fatalf("got %v, want the %s error", err, tt.name)
			}
			if !strings.HasPrefix(err.Error(), "client: ") {
				t.Errorf("error %q lacks the client: prefix", err)
			}
		})
	}
}

// TestPipePingPong: a server's ping is answered with its payload, in the
// middle of data.
func TestPipePingPong(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	addr := fakeServer(t, func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
		rd, wr := accept101(c, br, r, "binary")
		wr.WriteMessage(frames.OpBinary, []byte("one "))
		wr.WriteControl(frames.OpPing, []byte("are you there"))
		wr.WriteMessage(frames.OpBinary, []byte("two"))
		h, err := rd.NextFrame()
		if err != nil || h.Op != frames.OpPong {
			got <- fmt.Sprintf("frame %v, %v", h.Op, err)
			return
		}
		got <- string(rd.ControlPayload())
		wr.WriteClose(frames.CloseNormal, "")
		rd.NextFrame()
	})
	src, _ := localPair(t)
	var out bytes.Buffer
	if err := pipe(t, &Dialer{}, "ws://"+addr+"/", &out, src); err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	if p := <-got; p != "are you there" {
		t.Errorf("pong payload %q, want %q", p, "are you there")
	}
	if out.String() != "one two" {
		t.Errorf("got %q, want %q", out.String(), "one two")
	}
}

// TestPipeHeartbeat: a server that stops answering is dropped after two
// heartbeat periods, and the pings it got were pings.
func TestPipeHeartbeat(t *testing.T) {
	t.Parallel()
	pings := make(chan frames.Opcode, 1)
	addr := fakeServer(t, func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
		rd, _ := accept101(c, br, r, "binary")
		h, err := rd.NextFrame()
		if err == nil {
			pings <- h.Op
		}
		io.Copy(io.Discard, br) // then silence
	})
	src, _ := localPair(t)
	start := time.Now()
	err := pipe(t, &Dialer{Heartbeat: 50 * time.Millisecond}, "ws://"+addr+"/", io.Discard, src)
	if !errors.Is(err, ErrDropped) {
		t.Fatalf("got %v, want ErrDropped", err)
	}
	if op := <-pings; op != frames.OpPing {
		t.Errorf("first frame %v, want a ping", op)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("dropped after %v, want at least two periods", d)
	}
}

// TestPipeCancel: cancelling the context sends Close 1001 and ends Pipe
// with the context's error.
func TestPipeCancel(t *testing.T) {
	t.Parallel()
	code := make(chan frames.CloseCode, 1)
	ready := make(chan struct{})
	addr := fakeServer(t, func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
		rd, _ := accept101(c, br, r, "binary")
		close(ready)
		for {
			h, err := rd.NextFrame()
			if err != nil {
				code <- 0
				return
			}
			if h.Op == frames.OpClose {
				cc, _, _ := frames.ParseClose(rd.ControlPayload())
				code <- cc
				return
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := (&Dialer{}).Dial(ctx, "ws://"+addr+"/")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := localPair(t)
	var wg sync.WaitGroup
	wg.Go(func() { <-ready; cancel() }) // ends once the server is ready
	if err := c.Pipe(ctx, io.Discard, src); !errors.Is(err, context.Canceled) {
		t.Errorf("Pipe: got %v, want context.Canceled", err)
	}
	wg.Wait()
	if got := <-code; got != frames.CloseGoingAway {
		t.Errorf("server got close code %d, want 1001", got)
	}
}
