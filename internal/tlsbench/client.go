package main

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"wsbridge/frames"
)

// period is the length of the repeating byte pattern every transfer
// carries: byte i of a stream is byte(i % period). A prime, so that no
// message or read size lines up with it.
const period = 251

// pattern returns at least n bytes of the pattern, starting at offset 0.
func pattern(n int) []byte {
	b := make([]byte, n+period)
	for i := range b {
		b[i] = byte(i % period)
	}
	return b
}

// checkPattern reports whether b is the pattern's bytes from offset off;
// pat comes from pattern(len(b)) or longer.
func checkPattern(pat, b []byte, off int64) bool {
	s := int(off % period)
	return string(pat[s:s+len(b)]) == string(b)
}

// client is one connection to a system under test: TCP or TLS, and in
// the ws modes a WebSocket session over it.
type client struct {
	nc    net.Conn
	suite string // the TLS cipher suite, "" for plain TCP
	br    *bufio.Reader
	w     *frames.Writer // ws modes only
	r     *frames.Reader // ws modes only
}

// dialClient connects to addr, over TLS in the wss and tls modes, and in
// the ws modes completes a WebSocket upgrade offering the binary
// subprotocol.
func dialClient(mode, addr string, conf *tls.Config) (*client, error) {
	var c client
	if mode == "wss" || mode == "tls" {
		tc, err := tls.Dial("tcp", addr, conf)
		if err != nil {
			return nil, fmt.Errorf("dial: %w", err)
		}
		c.nc, c.suite = tc, tls.CipherSuiteName(tc.ConnectionState().CipherSuite)
	} else {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dial: %w", err)
		}
		c.nc = nc
	}
	c.br = bufio.NewReaderSize(c.nc, 64<<10)
	if mode == "ws" || mode == "wss" {
		if err := c.upgrade(addr); err != nil {
			c.nc.Close()
			return nil, err
		}
	}
	return &c, nil
}

// upgrade performs the client's side of the opening handshake.
func (c *client) upgrade(host string) error {
	var nonce [16]byte
	rand.Read(nonce[:])
	key := frames.NewKey(nonce)
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
	c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.nc.SetDeadline(time.Time{})
	if _, err := io.WriteString(c.nc, req); err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("upgrade: answer %s", resp.Status)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != frames.AcceptKey(key) {
		return fmt.Errorf("upgrade: Sec-WebSocket-Accept %q, want %q", got, frames.AcceptKey(key))
	}
	c.w = frames.NewWriter(c.nc, frames.RoleClient)
	c.r = frames.NewReader(c.br, frames.RoleClient)
	return nil
}

// Close ends the connection, with a Close frame in ws mode.
func (c *client) Close() error {
	if c.w != nil && !c.w.Closed() {
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		c.w.WriteClose(frames.CloseNormal, "")
	}
	return c.nc.Close()
}

// sendAll writes n pattern bytes in messages (or writes) of size bytes,
// then waits for done, where the backend reports that it has all of them.
func (c *client) sendAll(n int64, size int, done <-chan error) error {
	pat := pattern(size)
	for off := int64(0); off < n; {
		m := int(min(int64(size), n-off))
		s := int(off % period)
		var err error
		if c.w != nil {
			err = c.w.WriteMessage(frames.OpBinary, pat[s:s+m])
		} else {
			_, err = c.nc.Write(pat[s : s+m])
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		off += int64(m)
	}
	select {
	case err := <-done:
		return err
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("backend: %w after 2 minutes", errShort)
	}
}

// receiveAll reads n pattern bytes, checking each.
func (c *client) receiveAll(n int64, size int) error {
	pat := pattern(size)
	buf := make([]byte, size)
	var got int64
	read := func(r io.Reader) error {
		k, err := r.Read(buf)
		if k > 0 {
			if got+int64(k) > n || !checkPattern(pat, buf[:k], got) {
				return fmt.Errorf("byte %d and on: not what the backend sent", got)
			}
			got += int64(k)
		}
		return err
	}
	for got < n {
		if c.r == nil {
			if err := read(c.br); err != nil {
				return fmt.Errorf("read at byte %d of %d: %w", got, n, err)
			}
			continue
		}
		h, err := c.r.NextFrame()
		if err != nil {
			return fmt.Errorf("read at byte %d of %d: %w", got, n, err)
		}
		if h.Op == frames.OpClose {
			return fmt.Errorf("close at byte %d of %d: %w", got, n, errShort)
		}
		if h.Op.IsControl() {
			continue
		}
		for c.r.Remaining() > 0 {
			if err := read(c.r); err != nil && err != io.EOF {
				return fmt.Errorf("read at byte %d of %d: %w", got, n, err)
			}
		}
	}
	return nil
}
