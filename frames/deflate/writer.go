package deflate

import (
	"bytes"

	"wsbridge/frames"
)

// syncMarker ends every flush (an empty stored block); a compressed
// message leaves out its last one (RFC 7692 §7.2.1).
var syncMarker = []byte{0, 0, 0xff, 0xff}

// Writer writes messages through a frames.Writer, compressing them: the
// first frame of a compressed message carries RSV1. Data goes through
// WriteMessage (a whole message; one under Options.Threshold goes
// uncompressed), Write (a binary message) or WriteFragment (a message in
// parts, each flushed so that the peer can inflate it as it arrives);
// control frames through WriteControl and WriteClose, also between
// fragments. Compressed bytes go out in frames of at most 32 KiB (less if
// the frames.Writer's MaxFrame says so) as they are produced, so memory does
// not grow with the message.
type Writer struct {
	fw        *frames.Writer
	ext       *Extension
	takeover  bool // keep the compressor's window from message to message
	bits      int
	threshold int
	adaptive  bool // Options.Adaptive
	skip      int  // bytes still to send uncompressed (adaptive)
	backoff   int  // the last run of skip, in bytes (adaptive)
	lastSize  int  // compressed size of the last message

	c    *compressor // under takeover for the Writer's life, else while a message is open
	open bool        // a compressed message is open
	err  error       // sticky: the peer's inflater is out of step
}

// WriteMessage writes p as one message of type op (OpText or OpBinary).
func (w *Writer) WriteMessage(op frames.Opcode, p []byte) error {
	return w.writeMessage(op, p, nil)
}

// WriteMessageInPlace is WriteMessage for a buffer laid out as
// frames.Writer.WriteFrameInPlace takes it: the payload is
// buf[frames.MaxHeaderLen:], and a message that goes out uncompressed
// (under Threshold, or skipped by Adaptive) goes in one frame and one
// write, as without the extension.
func (w *Writer) WriteMessageInPlace(op frames.Opcode, buf []byte) error {
	return w.writeMessage(op, buf[frames.MaxHeaderLen:], buf)
}

// writeMessage writes p compressed or not; inPlace, if not nil, is p with
// header room in front.
func (w *Writer) writeMessage(op frames.Opcode, p, inPlace []byte) error {
	switch {
	case w.err != nil:
		return w.err
	case w.open:
		return errMessageOpen
	}
	plain := func() error {
		if inPlace != nil {
			return w.fw.WriteFrameInPlace(op, true, inPlace)
		}
		return w.fw.WriteMessage(op, p)
	}
	if len(p) < w.threshold {
		return plain()
	}
	if !w.adaptive {
		return w.WriteFragment(op, p, true)
	}
	if w.skip > 0 {
		w.skip -= len(p)
		return plain()
	}
	if err := w.WriteFragment(op, p, true); err != nil {
		return err
	}
	if w.lastSize > len(p)-len(p)/32 {
		w.backoff = min(max(2*w.backoff, len(p)), maxBackoff)
		w.skip = w.backoff
	} else {
		w.backoff = 0
	}
	return nil
}

// Write writes p as one binary message and returns len(p), so that a
// Writer stands where an io.Writer is expected.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.WriteMessage(frames.OpBinary, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteFragment compresses p as the next part of a message of type op (the
// message's opcode or, once it is open, OpContinuation); fin ends the
// message. Everything p compresses to is on the wire when it returns.
func (w *Writer) WriteFragment(op frames.Opcode, p []byte, fin bool) error {
	if w.err != nil {
		return w.err
	}
	data := op == frames.OpText || op == frames.OpBinary
	switch {
	case !w.open && !data, w.open && !data && op != frames.OpContinuation:
		return errNotData
	case !w.open:
		w.begin(op)
	}
	if _, err := w.c.zw.Write(p); err != nil {
		return w.fail(err)
	}
	if err := w.c.zw.Flush(); err != nil {
		return w.fail(err)
	}
	s := &w.c.sink
	if !fin {
		return w.check(s.emit(false, len(s.buf)))
	}
	if !bytes.HasSuffix(s.buf, syncMarker) {
		return w.fail(errNoTail)
	}
	err := s.emit(true, len(s.buf)-len(syncMarker))
	w.lastSize = s.sent
	w.end()
	return w.check(err)
}

// WriteControl writes a ping, pong or close frame, also between the
// fragments of a message.
func (w *Writer) WriteControl(op frames.Opcode, payload []byte) error {
	return w.fw.WriteControl(op, payload)
}

// WriteClose writes a Close frame with code and reason.
func (w *Writer) WriteClose(code frames.CloseCode, reason string) error {
	return w.fw.WriteClose(code, reason)
}

// Closed reports whether a Close frame has been written.
func (w *Writer) Closed() bool { return w.fw.Closed() }

// Release gives back the pooled state w holds; w must not be used
// afterwards.
func (w *Writer) Release() {
	if w.c != nil {
		if w.open {
			w.ext.putFrameBuf(w.c.sink.arr)
		}
		w.ext.putCompressor(w.c)
		w.c, w.open = nil, false
	}
	w.err = errReleased
}

// begin opens a message: a compressor (the Writer's own under context
// takeover, a pooled one otherwise) and a pooled frame buffer.
func (w *Writer) begin(op frames.Opcode) {
	if w.c == nil {
		w.c = w.ext.compressor(w.bits)
	}
	limit := maxFrame
	if w.fw.MaxFrame > 0 {
		limit = min(limit, w.fw.MaxFrame)
	}
	arr := w.ext.frameBuf()
	end := limit + len(syncMarker)
	w.c.sink = sink{fw: w.fw, buf: arr[:0:end], arr: arr, op: op}
	w.open = true
}

// end closes the message, giving back what is pooled.
func (w *Writer) end() {
	w.ext.putFrameBuf(w.c.sink.arr)
	w.c.sink = sink{}
	if !w.takeover {
		w.ext.putCompressor(w.c)
		w.c = nil
	}
	w.open = false
}

func (w *Writer) check(err error) error {
	if err != nil {
		return w.fail(err)
	}
	return nil
}

func (w *Writer) fail(err error) error {
	w.err = err
	return err
}

// sink collects the compressor's output and sends it in frames as soon as
// it has a frame's worth, holding back the last 4 bytes: they may be the
// sync marker that the message's last flush ends with.
type sink struct {
	fw   *frames.Writer
	buf  []byte // its capacity is the frame limit + 4
	arr  *[maxFrame + 4]byte
	op   frames.Opcode // the next frame's: the message's opcode, then continuation
	sent int           // payload bytes sent so far in this message
}

// Write implements io.Writer for the compressor.
func (s *sink) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if len(s.buf) == cap(s.buf) {
			if err := s.emit(false, len(s.buf)-len(syncMarker)); err != nil {
				return 0, err
			}
		}
		k := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
	}
	return n, nil
}

// emit sends buf[:n] as a frame and keeps the rest.
func (s *sink) emit(fin bool, n int) error {
	h := frames.Header{Fin: fin, Op: s.op}
	if s.op != frames.OpContinuation {
		h.Rsv = frames.Rsv1 // RFC 7692 §6: on the first frame only
	}
	s.op = frames.OpContinuation
	s.sent += n
	err := s.fw.WriteFrame(h, s.buf[:n])
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	return err
}
