package tunnel

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
)

// Close reasons sent to the client, websockify's wording where it has one.
const (
	reasonTargetClosed = "Target closed"
	reasonText         = "Unsupported: Text frames are not supported"
	reasonTargetError  = "Target connection error"
	reasonShutdown     = "Server shutting down"
	reasonIdle         = "Idle timeout"
	reasonDialFailed   = "Failed to connect to downstream server"
)

// clientToTarget reads the client's frames: data payloads are streamed to
// the target as they arrive, pings answered, pongs ignored. It returns when
// the client closes, disconnects or breaks the protocol.
//
// The payload of consecutive data frames that are already at hand is
// gathered into one write (see upBuffer); whatever was gathered goes out
// before the pump waits for the client and before any other frame is
// handled, so gathering never delays a byte.
func (p *pair) clientToTarget() {
	defer p.out.release()
	for {
		if p.out.n > 0 && !p.in.dataFrameReady() {
			if p.flushUp() != nil {
				return
			}
		}
		h, err := p.rd.NextFrame()
		if err != nil {
			if p.flushUp() == nil {
				p.clientReadError(err)
			}
			return
		}
		p.seen.Add(1)
		p.traffic('}')
		if h.Op != frames.OpBinary && h.Op != frames.OpContinuation && p.flushUp() != nil {
			return
		}
		switch h.Op {
		case frames.OpPing:
			// §5.5.2: answer with a Pong carrying the same payload, also
			// in the middle of a fragmented message.
			if err := p.writePong(p.rd.ControlPayload()); err != nil {
				if !isClosedErr(err) {
					p.end("client", 0, fmt.Errorf("write pong to client: %w", err))
				}
				return
			}
		case frames.OpPong:
			// §5.5.3: an unsolicited pong needs no answer.
		case frames.OpClose:
			p.clientClose()
			return
		case frames.OpText:
			// websockify closes text with 1003 (since 0.9); noVNC and
			// every binary client never send it.
			p.fail("server", frames.CloseUnsupportedData, reasonText, errors.New("tunnel: text frame from client"))
			return
		default:
			if err := p.copyFrame(h); err != nil {
				return
			}
		}
	}
}

// copyFrame reads the current data frame's payload (a compressed one
// inflated, Length -1) into p.out, sending it on whenever p.out is full or
// the next read would wait; with compression, after every read (an
// inflating reader cannot be asked not to wait).
func (p *pair) copyFrame(h frames.Header) error {
	if h.Length == 0 {
		return nil
	}
	gather := p.dr == nil
	for {
		if len(p.out.free()) == 0 {
			if err := p.flushUp(); err != nil {
				return err
			}
		}
		p.in.noWait = gather && p.out.n > 0
		n, rerr := p.rd.Read(p.out.free())
		p.in.noWait = false
		if n > 0 {
			p.seen.Add(1) // a long frame is a sign of life all along, not once
			p.out.n += n
		}
		if !gather || (n == 0 && rerr == nil) {
			// Nothing more at hand: send what was gathered, then wait.
			if err := p.flushUp(); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			if p.flushUp() == nil {
				p.clientReadError(rerr)
			}
			return rerr
		}
	}
}

// flushUp writes what p.out gathered to the target and gives the buffer
// back.
func (p *pair) flushUp() error {
	if p.out.n == 0 {
		return nil
	}
	n := p.out.n
	p.upBusy.Store(true)
	_, err := p.target.Write((*p.out.bp)[:n])
	p.upBusy.Store(false)
	if err != nil {
		p.out.release()
		if !isClosedErr(err) {
			p.fail("target", frames.CloseInternalError, reasonTargetError, fmt.Errorf("tunnel: write to target: %w", err))
		}
		return err
	}
	p.traffic('>')
	p.up.Add(int64(n))
	if p.rec != nil {
		p.rec.FromClient((*p.out.bp)[:n])
	}
	p.out.sent(n)
	p.out.release()
	return nil
}

// upBuffer gathers payload bytes on their way to the target, in a pooled
// buffer held only while it has bytes (or a read into it is under way).
// The buffer is a frame buffer (MaxHeaderLen+MaxFrameSize) until a write
// of at least upBufSize/4 shows bulk data; then a large one, until a write
// is smaller again. Sessions that send small messages (most of them)
// never take a large buffer.
type upBuffer struct {
	small *sync.Pool // *[]byte of MaxHeaderLen+MaxFrameSize
	large *sync.Pool // *[]byte of upBufSize
	bp    *[]byte
	n     int  // bytes gathered: (*bp)[:n]
	bulk  bool // the last write was large: gather in a large buffer
}

// upBufSize bounds one write to the target: four 64 KiB frames.
const upBufSize = 256 << 10

// free returns the unused part of the buffer, taking one if needed.
func (b *upBuffer) free() []byte {
	if b.bp == nil {
		if b.bulk {
			b.bp = b.large.Get().(*[]byte)
		} else {
			b.bp = b.small.Get().(*[]byte)
		}
	}
	return (*b.bp)[b.n:]
}

// sent records a write of the n bytes gathered.
func (b *upBuffer) sent(n int) { b.bulk = n >= upBufSize/4 }

// release drops what was gathered and gives the buffer back.
func (b *upBuffer) release() {
	if b.bp != nil {
		if len(*b.bp) == upBufSize {
			b.large.Put(b.bp)
		} else {
			b.small.Put(b.bp)
		}
	}
	b.bp, b.n = nil, 0
}

// clientReadError ends the session after a failed read from the client.
func (p *pair) clientReadError(err error) {
	if code := frames.CloseCodeOf(err); code != 0 {
		p.log.Warnf("client %s: %v", p.client.RemoteAddr(), err)
		p.fail("server", code, protocolReason(err), err)
		return
	}
	switch {
	case isClosedErr(err):
		// Torn down by this side (linger, heartbeat, shutdown).
		p.end("server", 0, nil)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		p.end("client", 0, errors.New("client disconnected without a Close frame"))
	default:
		p.end("client", 0, fmt.Errorf("read from client: %w", err))
	}
}

// protocolReason is the Close reason for a protocol error: the error text
// without the package prefix.
func protocolReason(err error) string {
	var e *frames.Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}

// clientClose handles the client's Close frame. If this side closed first,
// it is the reply and the session is over. Otherwise the client has
// finished sending: the target gets a FIN after everything sent before, and
// the target pump answers the Close once the target has sent its last byte.
//
// The Close is recorded before the FIN goes out: a target that closes in
// response must find it, or the target pump would take its EOF for the
// target closing first and send 1000 "Target closed" instead of the echo.
func (p *pair) clientClose() {
	code, reason, _ := frames.ParseClose(p.rd.ControlPayload()) // checked by the Reader
	p.wmu.Lock()
	replied := p.wr.Closed()
	p.wmu.Unlock()
	if replied {
		p.end("server", code, nil) // the session ended at this side's Close
		closeWrite(p.target)
		return
	}
	p.peerClosed(code, reason)
	p.linger()
	closeWrite(p.target)
}

// peerClosed records that the client closed first, with code and reason
// to echo once the target has finished.
func (p *pair) peerClosed(code frames.CloseCode, reason string) {
	p.mu.Lock()
	p.peerClose, p.peerCode, p.peerReason = true, code, reason
	p.mu.Unlock()
	p.end("client", code, nil)
}

// targetToClient frames what the target sends as binary messages, as it
// arrives. Nothing is held while the target is idle: the buffer (or pipe)
// is taken once the target is readable.
func (p *pair) targetToClient() {
	c := p.newCopyPath()
	var down downPath = c
	defer func() { down.release() }()
	bulk := false // a read has filled the buffer: splicing was considered
	for {
		n, rerr := down.read()
		if n > 0 {
			p.wmu.Lock()
			closed := p.wr.Closed()
			werr := down.writeFrame(n)
			p.wmu.Unlock()
			if werr != nil {
				if closed {
					// This side sent Close (shutdown, idle): what the
					// target sends now has nowhere to go. The client pump
					// ends the session on the client's reply.
					return
				}
				if !isClosedErr(werr) {
					p.end("client", 0, fmt.Errorf("write to client: %w", werr))
				}
				p.closeBoth()
				return
			}
			p.traffic('<')
			p.traffic('{')
			p.down.Add(int64(n))
			if p.rec != nil {
				p.rec.ToClient(down.payload(n))
			}
		}
		down.release()
		if rerr != nil {
			p.targetReadError(rerr)
			return
		}
		if n == p.srv.cfg.MaxFrameSize && !bulk {
			bulk, down = true, p.bulkPath(c)
		}
	}
}

// downPath moves the target's bytes to the client, one chunk at a time.
type downPath interface {
	// read waits until the target is readable and takes up to
	// MaxFrameSize bytes from it.
	read() (int, error)
	// writeFrame sends the n bytes read as one binary message; the
	// caller holds p.wmu.
	writeFrame(n int) error
	// payload returns the n bytes read, if they passed through memory
	// (for the Recorder).
	payload(n int) []byte
	// release gives back what the chunk held (a buffer, a pipe).
	release()
}

// bulkPath is the path for a target that has filled a whole buffer: a
// splicePath over c when both connections allow it and the bytes need no
// compressing or recording, else c. Sessions that never move bulk data
// never allocate the splice state.
func (p *pair) bulkPath(c *copyPath) downPath {
	if p.dw == nil && p.rec == nil {
		if d := p.newSplicePath(c); d != nil {
			return d
		}
	}
	return c
}

// copyPath reads the target into a pooled frame buffer, after room for
// the header, and writes header and payload with one Write (or compresses
// the payload).
type copyPath struct {
	rd  *rawReader
	buf frameBuf
	wr  *frames.Writer
	dw  *deflate.Writer // nil without compression
}

func (p *pair) newCopyPath() *copyPath {
	c := &copyPath{buf: frameBuf{pool: &p.srv.bufs}, wr: p.wr, dw: p.dw}
	if _, ok := p.client.(*tls.Conn); ok && p.dw == nil {
		c.buf.limit = tlsRecordFit(p.srv.cfg.MaxFrameSize)
	}
	c.rd = newRawReader(p.target, &c.buf)
	return c
}

func (c *copyPath) read() (int, error) { return c.rd.read() }

func (c *copyPath) writeFrame(n int) error {
	if c.dw != nil {
		return c.dw.WriteMessageInPlace(frames.OpBinary, (*c.buf.bp)[:frames.MaxHeaderLen+n])
	}
	return c.wr.WriteFrameInPlace(frames.OpBinary, true, (*c.buf.bp)[:frames.MaxHeaderLen+n])
}

func (c *copyPath) payload(n int) []byte {
	return (*c.buf.bp)[frames.MaxHeaderLen : frames.MaxHeaderLen+n]
}

func (c *copyPath) release() { c.buf.drop() }

// frameBuf lends a rawReader a pooled frame buffer: the payload is read
// after MaxHeaderLen bytes of room for the frame header.
type frameBuf struct {
	pool *sync.Pool // *[]byte of MaxHeaderLen+MaxFrameSize
	bp   *[]byte    // nil while none is taken
	// limit, if not 0, bounds one read (tlsRecordFit).
	limit int
}

func (b *frameBuf) take() []byte {
	if b.bp == nil {
		b.bp = b.pool.Get().(*[]byte)
	}
	if b.limit > 0 {
		return (*b.bp)[frames.MaxHeaderLen : frames.MaxHeaderLen+b.limit]
	}
	return (*b.bp)[frames.MaxHeaderLen:]
}

func (b *frameBuf) drop() {
	if b.bp != nil {
		b.pool.Put(b.bp)
		b.bp = nil
	}
}

// tlsRecord is the most plaintext one TLS record carries.
const tlsRecord = 16 << 10

// tlsRecordFit returns the most payload, at most max, whose frame (with a
// server's header) fills whole TLS records; 0 if max is under one record.
// crypto/tls seals and writes each record of a Write on its own, so a
// frame of 64 KiB of payload (65546 bytes) would cost four full records
// and a fifth of 10 bytes; 65532 bytes with a 4-byte header are exactly
// four.
func tlsRecordFit(max int) int {
	for t := (max + frames.MaxHeaderLen) / tlsRecord * tlsRecord; t >= tlsRecord; t -= tlsRecord {
		n := t - 4 // a 16-bit length
		if n > 0xffff {
			n = t - 10 // a 64-bit length
		}
		if n <= max && n+frames.HeaderLen(frames.Header{Length: int64(n)}) == t {
			return n
		}
	}
	return 0
}

// targetReadError handles the end of the target's stream.
func (p *pair) targetReadError(err error) {
	if !errors.Is(err, io.EOF) {
		if isClosedErr(err) {
			return // torn down by this side
		}
		p.fail("target", frames.CloseInternalError, reasonTargetError, fmt.Errorf("read from target: %w", err))
		return
	}
	// The target's FIN: everything it sent is out; tell the client.
	p.mu.Lock()
	peerClose, code, reason := p.peerClose, p.peerCode, p.peerReason
	p.mu.Unlock()
	if peerClose {
		// The client closed first and waited for the target to finish:
		// echo its Close (§5.5.1) and end the session.
		_ = p.writeClose(code, reason)
		p.closeBoth()
		return
	}
	// The target closed first. The client may still send until it
	// answers our Close; the client pump forwards that and ends the
	// session on the reply.
	p.end("target", frames.CloseNormal, nil)
	p.linger()
	_ = p.writeClose(frames.CloseNormal, reasonTargetClosed)
}

// closeWrite half-closes c (a FIN for TCP, shutdown(SHUT_WR) for unix
// sockets); connections without half-close are left open for closeBoth.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
