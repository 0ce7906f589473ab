// Package echo is a message-preserving WebSocket echo server built on
// frames/: text comes back as text, binary as binary, pings are answered
// and Close frames echoed. It exists so that a conformance client such as
// Autobahn|Testsuite's fuzzingclient can be pointed at the codec itself;
// the bridge cannot be tested that way because TCP does not keep message
// boundaries.
//
// Messages are echoed as they arrive, fragment by fragment, so a message
// of any size passes through a fixed buffer. With permessage-deflate
// (Handler.Deflate) a compressed message is inflated as it arrives and
// echoed compressed, in the same bounded memory.
package echo

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pion/logging"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
	"wsbridge/tunnel"
)

// Handler upgrades every request to a WebSocket and echoes it.
type Handler struct {
	// MaxMessage limits one message; larger ones are closed with 1009.
	// Zero means no limit.
	MaxMessage int64
	// CloseTimeout bounds the wait for the client's Close reply after a
	// protocol error. Zero means tunnel.DefaultCloseTimeout.
	CloseTimeout time.Duration
	// Deflate, when set, agrees to permessage-deflate (RFC 7692) with
	// clients that offer it and echoes every message compressed. Nil
	// declines the extension, and RSV1 is then a protocol error (1002).
	Deflate *deflate.Extension
	// Log receives one line per failed connection; nil logs nothing.
	Log logging.LeveledLogger

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // live echo connections (hijacked: http.Server forgets them)
	wg     sync.WaitGroup
	closed bool
}

// Close closes every live echo connection and waits for their handlers to
// return. Connections accepted afterwards are closed at once.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	for c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// track registers c; false means the Handler is closed.
func (h *Handler) track(c net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	if h.conns == nil {
		h.conns = make(map[net.Conn]struct{})
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *Handler) untrack(c net.Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.wg.Done()
}

// bufSize is the largest fragment the echo writes.
const bufSize = 32 << 10

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hs, herr := tunnel.CheckUpgrade(r, false)
	if herr != nil {
		h.logf("%s: %v", r.RemoteAddr, herr)
		tunnel.Refuse(w, herr)
		return
	}
	var (
		params   deflate.Params
		compress bool
	)
	if h.Deflate != nil {
		params, hs.Extensions, compress = h.Deflate.Negotiate(r.Header.Values("Sec-WebSocket-Extensions"))
	}
	conn, br, err := tunnel.Accept(w, hs)
	if err != nil {
		h.logf("%s: %v", r.RemoteAddr, err)
		return
	}
	defer conn.Close()
	if !h.track(conn) {
		return
	}
	defer h.untrack(conn)
	fr := frames.NewReader(br, frames.RoleServer)
	fr.MaxMessage = h.MaxMessage
	fw := frames.NewWriter(conn, frames.RoleServer)
	var rd reader = fr
	var wr writer = fw
	if compress {
		dr := h.Deflate.NewReader(fr, frames.RoleServer, params)
		defer dr.Release()
		dw := h.Deflate.NewWriter(fw, frames.RoleServer, params)
		defer dw.Release()
		rd, wr = dr, dw
	}
	err = h.echo(rd, wr)
	code := frames.CloseCodeOf(err)
	if code != 0 {
		// Fail the connection (RFC 6455 §7.1.7): say why, then close.
		timeout := h.CloseTimeout
		if timeout <= 0 {
			timeout = tunnel.DefaultCloseTimeout
		}
		conn.SetWriteDeadline(time.Now().Add(timeout))
		var fe *frames.Error
		errors.As(err, &fe)
		if fw.WriteClose(code, fe.Msg) == nil {
			linger(conn, br, timeout)
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		h.logf("%s: %v", r.RemoteAddr, err)
	}
}

// linger waits, up to timeout, for the client to close after a Close that
// failed the connection, discarding what it still sends. Closing at once
// with unread data would reset the connection, and a reset can destroy
// the Close frame before the client reads it (RFC 6455 §7.1.1 has the
// server close TCP after the client has the Close).
func linger(conn net.Conn, br *bufio.Reader, timeout time.Duration) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(timeout))
	io.Copy(io.Discard, br)
}

// reader is a frames.Reader, or a deflate.Reader inflating what one reads.
type reader interface {
	NextFrame() (frames.Header, error)
	Read(p []byte) (int, error)
	ControlPayload() []byte
	MessageOp() frames.Opcode
}

// writer is a frames.Writer, or a deflate.Writer compressing through one.
type writer interface {
	WriteFragment(op frames.Opcode, p []byte, fin bool) error
	WriteControl(op frames.Opcode, payload []byte) error
	WriteClose(code frames.CloseCode, reason string) error
}

// echo runs until the client's Close (echoed; returns nil) or an error.
// Each piece of a data frame is echoed as a fragment as soon as it is
// read; the fragment that ends the message is the one after whose read
// MessageOp turns 0, so no empty closing fragment is needed.
func (h *Handler) echo(rd reader, wr writer) error {
	buf := make([]byte, bufSize)
	for {
		fh, err := rd.NextFrame()
		if err != nil {
			return err
		}
		switch fh.Op {
		case frames.OpPing:
			if err := wr.WriteControl(frames.OpPong, rd.ControlPayload()); err != nil {
				return fmt.Errorf("echo: write pong: %w", err)
			}
			continue
		case frames.OpPong:
			continue
		case frames.OpClose:
			// §5.5.1: echo the status code; an empty Close stays empty.
			code, reason, _ := frames.ParseClose(rd.ControlPayload())
			return wr.WriteClose(code, reason)
		}
		op := rd.MessageOp()
		if op == 0 {
			op = fh.Op // a frame that ended its message already (empty)
		}
		for {
			// A read error (invalid UTF-8 included) drops the bytes read
			// with it: nothing invalid is ever echoed.
			n, rerr := rd.Read(buf)
			if rerr != nil && rerr != io.EOF {
				return rerr
			}
			last := rd.MessageOp() == 0
			if n > 0 || last {
				if err := wr.WriteFragment(op, buf[:n], last); err != nil {
					return fmt.Errorf("echo: write: %w", err)
				}
			}
			if last || rerr == io.EOF {
				break
			}
		}
	}
}

func (h *Handler) logf(format string, args ...any) {
	if h.Log != nil {
		h.Log.Infof(format, args...)
	}
}
