package tunnel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"testing"

	"wsbridge/frames"
)

// dataSizes are the message and stream sizes of the byte-exact tests: the
// frame length encodings' edges (125/126, 65535/65536) and large streams.
var dataSizes = []int{0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20}

// TestUpBytesExact sends one message of each size, cut into fragments of
// random sizes with pings between some of them, and checks the target
// receives exactly those bytes, then EOF after the client's Close.
func TestUpBytesExact(t *testing.T) {
	for i, size := range dataSizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			seed := uint64(100 + i)
			rng := mrand.New(mrand.NewPCG(seed, 1))
			res := make(chan sinkResult, 1)
			tgt := startTarget(t, sinkTarget(res, nil))
			b := startBridge(t, Config{Target: tgt.addr}, nil)
			c := dialWS(t, b.addr, "Sec-WebSocket-Protocol: binary")

			data := randBytes(seed, size)
			maxFrag := rng.IntN(max(size, 1)) + 1
			pings, err := c.sendMessage(data, rng, maxFrag, 0.05)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if err := c.wr.WriteClose(4000, "sent"); err != nil {
				t.Fatal(err)
			}
			r := recv(t, res, "the target's EOF")
			if r.err != nil || r.n != int64(size) || r.sum != sha256.Sum256(data) {
				t.Fatalf("target got %d B (err %v, sha256 match %v), want %d B and a match",
					r.n, r.err, r.sum == sha256.Sum256(data), size)
			}
			c.expectClose(t, 4000, "sent")
			if c.pongs != pings {
				t.Errorf("got %d pongs, want %d (one per ping)", c.pongs, pings)
			}
			c.expectEOF(t)
		})
	}
}

// TestDownBytesExact has the target write each size in random chunk
// sizes, then FIN, and checks the client receives exactly those bytes in
// unfragmented binary frames of at most MaxFrameSize, then Close 1000;
// through splice(2) (two plain sockets) and through a copy (a target conn
// of another type).
func TestDownBytesExact(t *testing.T) {
	for _, path := range []string{"splice", "copy"} {
		for i, size := range dataSizes {
			t.Run(fmt.Sprintf("%s/%d", path, size), func(t *testing.T) {
				seed := uint64(200 + i)
				rng := mrand.New(mrand.NewPCG(seed, 2))
				data := randBytes(seed, size)
				maxChunk := rng.IntN(max(size, 1)) + 1
				tgt := startTarget(t, sourceTarget(data, seed, maxChunk, nil))
				cfg := Config{Target: tgt.addr}
				if path == "copy" {
					cfg.Dial = dialWrapped
				}
				b := startBridge(t, cfg, nil)
				c := dialWS(t, b.addr)

				h := &countingHash{Hash: sha256.New()}
				code, reason, err := c.readUntilClose(h)
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if h.n != int64(size) || !bytes.Equal(h.Sum(nil), sum(data)) {
					t.Fatalf("client got %d B (sha256 match %v), want %d B", h.n, bytes.Equal(h.Sum(nil), sum(data)), size)
				}
				if code != frames.CloseNormal || reason != "Target closed" {
					t.Fatalf("got Close %d %q, want 1000 \"Target closed\"", code, reason)
				}
				if c.maxFrame > DefaultMaxFrameSize {
					t.Errorf("got a frame of %d B, want at most %d", c.maxFrame, DefaultMaxFrameSize)
				}
				if err := c.wr.WriteClose(frames.CloseNormal, ""); err != nil {
					t.Fatal(err)
				}
				c.expectEOF(t)
			})
		}
	}
}

// wrappedConn is a TCP connection of a type the down path does not
// splice from, as a TLS or PROXY-protocol conn would be.
type wrappedConn struct{ *net.TCPConn }

func dialWrapped(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return wrappedConn{c.(*net.TCPConn)}, nil
}

// TestMaxFrameSize checks that target data is framed at MaxFrameSize.
func TestMaxFrameSize(t *testing.T) {
	data := randBytes(3, 10000)
	tgt := startTarget(t, func(c *net.TCPConn) {
		c.Write(data) // one write: the reads see up to 10000 B
		c.CloseWrite()
		io.Copy(io.Discard, c)
	})
	b := startBridge(t, Config{Target: tgt.addr, MaxFrameSize: 100}, nil)
	c := dialWS(t, b.addr)
	var got bytes.Buffer
	if _, _, err := c.readUntilClose(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("got %d B, want the %d B sent", got.Len(), len(data))
	}
	if c.maxFrame > 100 || c.frames < 100 {
		t.Fatalf("got %d frames of at most %d B, want >= 100 frames of at most 100 B", c.frames, c.maxFrame)
	}
}

// TestFullDuplex moves 4 MiB each way at the same time.
func TestFullDuplex(t *testing.T) {
	const size = 4 << 20
	up, down := randBytes(11, size), randBytes(12, size)
	res := make(chan sinkResult, 1)
	tgt := startTarget(t, func(c *net.TCPConn) {
		done, eof := make(chan struct{}), make(chan struct{})
		go func() { // the target's writer; the handler waits for it
			defer close(done)
			writeChunks(c, down, mrand.New(mrand.NewPCG(1, 2)), 100000)
			<-eof // FIN only after the client's: the Close must be the echo
			c.CloseWrite()
		}()
		r := hashUntilEOF(c)
		close(eof)
		res <- r
		<-done
	})
	b := startBridge(t, Config{Target: tgt.addr}, nil)
	c := dialWS(t, b.addr)

	sent := make(chan error, 1)
	go func() { // the client's writer, while this goroutine reads
		_, err := c.sendMessage(up, mrand.New(mrand.NewPCG(3, 4)), 150000, 0)
		if err == nil {
			err = c.wr.WriteClose(frames.CloseNormal, "")
		}
		sent <- err
	}()
	h := &countingHash{Hash: sha256.New()}
	code, reason, err := c.readUntilClose(h)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := recv(t, sent, "the client's writer"); err != nil {
		t.Fatalf("write: %v", err)
	}
	if h.n != size || !bytes.Equal(h.Sum(nil), sum(down)) {
		t.Errorf("client got %d B (sha256 match %v), want %d B", h.n, bytes.Equal(h.Sum(nil), sum(down)), size)
	}
	r := recv(t, res, "the target's EOF")
	if r.n != size || r.sum != sha256.Sum256(up) || r.err != nil {
		t.Errorf("target got %d B (err %v, sha256 match %v), want %d B", r.n, r.err, r.sum == sha256.Sum256(up), size)
	}
	// The client closed first: its Close comes back once the target's FIN
	// has followed its last byte.
	if code != frames.CloseNormal || reason != "" {
		t.Errorf("got Close %d %q, want 1000 \"\" (the echo)", code, reason)
	}
	c.expectEOF(t)
}

// TestPipelinedFrame sends the first frame in the same write as the
// upgrade request: the bytes the HTTP server already buffered must not be
// lost.
func TestPipelinedFrame(t *testing.T) {
	res := make(chan sinkResult, 1)
	tgt := startTarget(t, sinkTarget(res, nil))
	b := startBridge(t, Config{Target: tgt.addr}, nil)
	conn, err := net.Dial("tcp", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var frame bytes.Buffer
	fw := frames.NewWriter(&frame, frames.RoleClient)
	fw.WriteMessage(frames.OpBinary, []byte("early bird"))
	fw.WriteClose(frames.CloseNormal, "")
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), frame.Bytes()...)); err != nil {
		t.Fatal(err)
	}
	r := recv(t, res, "the target's EOF")
	if r.sum != sha256.Sum256([]byte("early bird")) {
		t.Fatalf("target got %d B, want \"early bird\" (10 B)", r.n)
	}
}

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
