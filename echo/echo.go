// Package echo is a message-preserving WebSocket echo server built on
// frames/: text comes back as text, binary as binary, pings are answered
// and Close frames echoed. It exists so that a conformance client such as
// Autobahn|Testsuite's fuzzingclient can be pointed at the codec itself;
// the bridge cannot be tested that way because TCP does not keep message
// boundaries.
//
// Messages are echoed as they arrive, fragment by fragment, so a message
// of any size passes through a fixed buffer.
package echo

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pion/logging"

	"wsbridge/frames"
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
	rd := frames.NewReader(br, frames.RoleServer)
	rd.MaxMessage = h.MaxMessage
	wr := frames.NewWriter(conn, frames.RoleServer)
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
		_ = wr.WriteClose(code, fe.Msg)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		h.logf("%s: %v", r.RemoteAddr, err)
	}
}

// echo runs until the client's Close (echoed; returns nil) or an error.
func (h *Handler) echo(rd *frames.Reader, wr *frames.Writer) error {
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
			op = fh.Op // a one-frame message, already finished (empty)
		}
		if fh.Length == 0 {
			if err := wr.WriteFragment(op, nil, fh.Fin); err != nil {
				return fmt.Errorf("echo: write: %w", err)
			}
			continue
		}
		for rd.Remaining() > 0 {
			// A read error (invalid UTF-8 included) drops the bytes read
			// with it: nothing invalid is ever echoed.
			n, rerr := rd.Read(buf)
			if rerr != nil && rerr != io.EOF {
				return rerr
			}
			last := fh.Fin && rd.Remaining() == 0
			if err := wr.WriteFragment(op, buf[:n], last); err != nil {
				return fmt.Errorf("echo: write: %w", err)
			}
		}
	}
}

func (h *Handler) logf(format string, args ...any) {
	if h.Log != nil {
		h.Log.Infof(format, args...)
	}
}
