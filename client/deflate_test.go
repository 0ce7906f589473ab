package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"net"
	"net/http"
	"strings"
	"testing"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
	"wsbridge/internal/testpeer"
	"wsbridge/tunnel"
)

func newExt(t *testing.T, o deflate.Options) *deflate.Extension {
	t.Helper()
	ext, err := deflate.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return ext
}

// TestPipeDeflate: a client offering permessage-deflate to a bridge that
// agrees pipes compressible and random data through, byte-exact; to a
// bridge that declines, it falls back to plain frames.
func TestPipeDeflate(t *testing.T) {
	t.Parallel()
	compressible := bytes.Repeat([]byte("ssh-like text line, again and again\n"), 100000)
	random := make([]byte, 2<<20)
	rand.Read(random)
	server := newExt(t, deflate.Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true})
	for _, tc := range []struct {
		name   string
		server *deflate.Extension
		want   bool
	}{{"agreed", server, true}, {"declined", nil, false}} {
		t.Run(tc.name, func(t *testing.T) {
			addr := bridgeWith(t, tunnel.Config{Target: testpeer.TCP(t, testpeer.Echo), Deflate: tc.server}, nil)
			for _, data := range [][]byte{compressible, random} {
				ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
				defer cancel()
				c, err := (&Dialer{Deflate: newExt(t, deflate.Options{})}).Dial(ctx, "ws://"+addr+"/")
				if err != nil {
					t.Fatal(err)
				}
				if c.Compressed() != tc.want {
					t.Errorf("Compressed() = %v, want %v", c.Compressed(), tc.want)
				}
				out := newHashWriter()
				if err := c.Pipe(ctx, out, bytes.NewReader(data)); err != nil {
					t.Fatalf("Pipe: %v", err)
				}
				if out.n != int64(len(data)) || out.sum() != sha256.Sum256(data) {
					t.Errorf("got %d bytes back, want %d byte-exact", out.n, len(data))
				}
			}
		})
	}
}

// TestDialDeflateBadAnswer: a server answering with parameters the client
// did not allow fails the handshake (RFC 7692 §5).
func TestDialDeflateBadAnswer(t *testing.T) {
	t.Parallel()
	addr := fakeServer(t, func(c *net.TCPConn, br *bufio.Reader, r *http.Request) {
		key := r.Header.Get("Sec-WebSocket-Key")
		c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + frames.AcceptKey(key) + "\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=99\r\n\r\n"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	_, err := (&Dialer{Deflate: newExt(t, deflate.Options{}), Subprotocols: []string{}}).Dial(ctx, "ws://"+addr+"/")
	if err == nil || !strings.Contains(err.Error(), "handshake") {
		t.Fatalf("Dial: got %v, want a handshake error", err)
	}
}
