package tunnel

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"io"
	mrand "math/rand/v2"
	"net"
	"sync/atomic"
	"testing"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
)

// bridgeDeflate is the server side the bridge would use by default: no
// context takeover either way, so a connection holds no flate state
// between messages.
func bridgeDeflate(t testing.TB) *deflate.Extension {
	ext, err := deflate.New(deflate.Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true})
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// countConn counts the bytes read from the wire.
type countConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// deflateClient opens a WebSocket offering permessage-deflate and returns
// the inflating reader and compressing writer over it, and the wire
// counter.
func deflateClient(t *testing.T, addr string) (*wsClient, *deflate.Reader, *deflate.Writer, *countConn) {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cc := &countConn{Conn: raw}
	t.Cleanup(func() { raw.Close() })
	ext, err := deflate.New(deflate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, resp, err := handshakeWS(cc, "/", addr, "Sec-WebSocket-Extensions: "+ext.Offer())
	if err != nil || c == nil {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	p, ok, err := ext.Accept(resp.Header.Values("Sec-WebSocket-Extensions"))
	if err != nil || !ok {
		t.Fatalf("server answered %q: ok %v, %v", resp.Header.Values("Sec-WebSocket-Extensions"), ok, err)
	}
	if !p.ServerNoContextTakeover || !p.ClientNoContextTakeover {
		t.Errorf("agreed %v, want no context takeover either way", p)
	}
	dr := ext.NewReader(c.rd, frames.RoleClient, p)
	dw := ext.NewWriter(c.wr, frames.RoleClient, p)
	t.Cleanup(func() { dr.Release(); dw.Release() })
	return c, dr, dw, cc
}

// vncLike is compressible data: 32-bit pixels of flat areas with a little
// noise, as a raw-encoded framebuffer update.
func vncLike(n int) []byte {
	rng := mrand.New(mrand.NewPCG(7, 8))
	b := make([]byte, n)
	for i := 0; i < n; i += 4 {
		if rng.IntN(50) == 0 {
			b[i], b[i+1], b[i+2] = byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())
		} else {
			b[i], b[i+1], b[i+2] = 0x33, 0x66, 0xcc
		}
	}
	return b
}

// TestDeflateThroughBridge: with permessage-deflate agreed, what the
// client sends compressed reaches the target inflated and byte-exact, and
// the target's bytes come back compressed: a compressible stream takes a
// fraction of its size on the wire, random data about its size.
func TestDeflateThroughBridge(t *testing.T) {
	for _, tc := range []struct {
		name     string
		data     []byte
		maxRatio float64 // wire bytes / payload bytes, down
	}{
		{"vnc-like", vncLike(4 << 20), 0.2},
		{"random", randBytes(3, 1<<20), 1.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tgt := startTarget(t, echoTarget)
			b := startBridge(t, Config{Target: tgt.addr, Deflate: bridgeDeflate(t), LoggerFactory: quietLogger()}, nil)
			c, dr, dw, cc := deflateClient(t, b.addr)
			want := sha256.Sum256(tc.data)
			sent := make(chan error, 1)
			go func() { // the writer; the echo comes back meanwhile
				var err error
				for off := 0; off < len(tc.data) && err == nil; off += 32 << 10 {
					err = dw.WriteMessage(frames.OpBinary, tc.data[off:min(off+32<<10, len(tc.data))])
				}
				sent <- err
			}()
			h := sha256.New()
			got := int64(0)
			for got < int64(len(tc.data)) {
				fh, err := dr.NextFrame()
				if err != nil {
					t.Fatalf("after %d B: %v", got, err)
				}
				if fh.Op.IsControl() {
					continue
				}
				if fh.Rsv&frames.Rsv1 == 0 && fh.Op != frames.OpContinuation {
					t.Fatalf("message at %d B not compressed", got)
				}
				n, err := io.Copy(h, dr)
				got += n
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			if [32]byte(h.Sum(nil)) != want {
				t.Fatal("echo differs from what was sent")
			}
			ratio := float64(cc.n.Load()) / float64(len(tc.data))
			t.Logf("%s: %d B echoed in %d B on the wire (%.3f)", tc.name, len(tc.data), cc.n.Load(), ratio)
			if ratio > tc.maxRatio {
				t.Errorf("wire/payload %.3f, want at most %.3f", ratio, tc.maxRatio)
			}
			dw.WriteClose(frames.CloseNormal, "")
			c.expectClose(t, frames.CloseNormal, "")
		})
	}
}

// TestDeflateBomb: a compressed message that inflates past
// MaxMessageSize is closed with 1009, and the target gets no more than
// the limit.
func TestDeflateBomb(t *testing.T) {
	res := make(chan sinkResult, 1)
	tgt := startTarget(t, sinkTarget(res, nil))
	const limit = 1 << 20
	b := startBridge(t, Config{Target: tgt.addr, Deflate: bridgeDeflate(t), MaxMessageSize: limit, LoggerFactory: quietLogger()}, nil)
	c, _, _, _ := deflateClient(t, b.addr)
	// 256 MiB of zeros in ~250 KB: 1 MiB deflated and sync-flushed, 256
	// times over (each copy's back-references fall on zeros), as one
	// compressed frame (RSV1) without the 00 00 ff ff tail (RFC 7692
	// §7.2.1). It is written while the Close is read: the bridge stops
	// reading at 1009.
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Flush()
	bomb := bytes.TrimSuffix(bytes.Repeat(z.Bytes(), 256), []byte{0, 0, 0xff, 0xff})
	written := make(chan error, 1)
	go func() {
		written <- c.wr.WriteFrame(frames.Header{Fin: true, Rsv: frames.Rsv1, Op: frames.OpBinary}, bomb)
	}()
	c.expectClose(t, frames.CloseMessageTooBig, "message exceeds the configured limit")
	c.conn.Close() // ends the write if the bridge stopped reading
	<-written
	r := recv(t, res, "the target's end")
	if r.n > limit {
		t.Errorf("target got %d B of the bomb, want at most the %d B limit", r.n, limit)
	}
}

// TestDeflateDeclined: without Config.Deflate the offer is declined (no
// extension in the 101), and an RSV1 frame then fails with 1002.
func TestDeflateDeclined(t *testing.T) {
	tgt := startTarget(t, echoTarget)
	b := startBridge(t, Config{Target: tgt.addr, LoggerFactory: quietLogger()}, nil)
	c, resp, err := tryDialWS(b.addr, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
	if err != nil || c == nil {
		t.Fatal(resp, err)
	}
	defer c.conn.Close()
	if ext := resp.Header.Values("Sec-WebSocket-Extensions"); len(ext) != 0 {
		t.Errorf("extensions %q in the 101, want none", ext)
	}
	c.wr.WriteFrame(frames.Header{Fin: true, Rsv: frames.Rsv1, Op: frames.OpBinary, Length: 3}, []byte("abc"))
	c.expectClose(t, frames.CloseProtocolError, "reserved bits set without a negotiated extension")
}
