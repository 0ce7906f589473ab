package echo_test

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"wsbridge/echo"
	"wsbridge/frames"
	"wsbridge/frames/deflate"
)

// serve runs h on a loopback HTTP server until the test ends.
func serve(t *testing.T, h *echo.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { // the accept loop; ends when srv is closed below
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		h.Close() // hijacked connections are the handler's to close
		<-done
	})
	return ln.Addr().String()
}

// client is a WebSocket client written with frames and frames/deflate, as
// client mode will be.
type client struct {
	conn     net.Conn
	fr       *frames.Reader
	fw       *frames.Writer
	rd       *deflate.Reader // nil unless permessage-deflate was agreed
	wr       *deflate.Writer
	answer   string // the server's Sec-WebSocket-Extensions
	params   deflate.Params
	compress bool
}

// dial connects and upgrades, offering offer (none if "") and checking the
// answer with ext (which made the offer, or agrees with it).
func dial(t *testing.T, addr, offer string, ext *deflate.Extension) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(time.Minute)) // a hung test fails instead of hanging
	var raw [16]byte
	rand.Read(raw[:])
	key := frames.NewKey(raw)
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n"
	if offer != "" {
		req += "Sec-WebSocket-Extensions: " + offer + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != frames.AcceptKey(key) {
		t.Fatalf("handshake: got %s, accept %q", resp.Status, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	c := &client{conn: conn, fr: frames.NewReader(br, frames.RoleClient), fw: frames.NewWriter(conn, frames.RoleClient)}
	answer := resp.Header.Values("Sec-WebSocket-Extensions")
	if len(answer) > 0 {
		c.answer = answer[0]
	}
	if ext == nil {
		if c.answer != "" {
			t.Fatalf("server answered %q to no offer", c.answer)
		}
		return c
	}
	c.params, c.compress, err = ext.Accept(answer)
	if err != nil {
		t.Fatal(err)
	}
	if c.compress {
		c.rd = ext.NewReader(c.fr, frames.RoleClient, c.params)
		c.wr = ext.NewWriter(c.fw, frames.RoleClient, c.params)
	}
	return c
}

// send writes msg as one message, whole or in fragments of frag bytes,
// compressed if agreed.
func (c *client) send(op frames.Opcode, msg []byte, frag int) error {
	if frag == 0 {
		if c.wr != nil {
			return c.wr.WriteMessage(op, msg)
		}
		return c.fw.WriteMessage(op, msg)
	}
	for {
		n := min(frag, len(msg))
		fin := n == len(msg)
		var err error
		if c.wr != nil {
			err = c.wr.WriteFragment(op, msg[:n], fin)
		} else {
			err = c.fw.WriteFragment(op, msg[:n], fin)
		}
		if err != nil || fin {
			return err
		}
		msg = msg[n:]
	}
}

// receive reads the next message: its opcode, whether its first frame was
// compressed, its bytes.
func (c *client) receive() (frames.Opcode, bool, []byte, error) {
	var rd interface {
		NextFrame() (frames.Header, error)
		io.Reader
	} = c.fr
	if c.rd != nil {
		rd = c.rd
	}
	var msg []byte
	var op frames.Opcode
	var compressed bool
	buf := make([]byte, 16<<10)
	for {
		h, err := rd.NextFrame()
		if err != nil {
			return 0, false, nil, err
		}
		switch h.Op {
		case frames.OpPing, frames.OpPong:
			continue
		case frames.OpClose:
			return 0, false, nil, errors.New("unexpected Close")
		case frames.OpText, frames.OpBinary:
			op, compressed = h.Op, h.Rsv&frames.Rsv1 != 0
		}
		for {
			n, err := rd.Read(buf)
			msg = append(msg, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				return 0, false, nil, err
			}
		}
		if c.messageOp() == 0 {
			return op, compressed, msg, nil
		}
	}
}

func (c *client) messageOp() frames.Opcode {
	if c.rd != nil {
		return c.rd.MessageOp()
	}
	return c.fr.MessageOp()
}

// echo sends msg and reads its echo. The send runs on its own goroutine:
// a large message is echoed while it is still being sent.
func (c *client) echo(op frames.Opcode, msg []byte, frag int) (frames.Opcode, bool, []byte, error) {
	sent := make(chan error, 1)
	go func() { sent <- c.send(op, msg, frag) }() // ends when the message is written
	gop, compressed, got, err := c.receive()
	if serr := <-sent; serr != nil {
		return 0, false, nil, fmt.Errorf("send: %w", serr)
	}
	return gop, compressed, got, err
}

// closeCode writes raw bytes and returns the code of the Close that the
// server answers with.
func (c *client) closeCode(t *testing.T, raw []byte) frames.CloseCode {
	t.Helper()
	written := make(chan struct{})
	go func() { // the server may close before reading it all, which ends the write
		defer close(written)
		c.conn.Write(raw)
	}()
	defer func() {
		c.conn.Close()
		<-written
	}()
	for {
		h, err := c.fr.NextFrame()
		if err != nil {
			t.Fatalf("no Close: %v", err)
		}
		if h.Op == frames.OpClose {
			code, _, _ := frames.ParseClose(c.fr.ControlPayload())
			return code
		}
	}
}

// frame encodes one client frame with any RSV bits.
func frame(fin bool, rsv byte, op frames.Opcode, payload []byte) []byte {
	h := frames.Header{Fin: fin, Rsv: rsv, Op: op, Masked: true, Mask: [4]byte{9, 8, 7, 6}, Length: int64(len(payload))}
	b := make([]byte, frames.HeaderLen(h)+len(payload))
	n := frames.PutHeader(b, h)
	copy(b[n:], payload)
	frames.Mask(h.Mask, 0, b[n:])
	return b
}
