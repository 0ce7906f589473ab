package deflate

import (
	"errors"
	"fmt"
	"io"

	"wsbridge/frames"
)

// Reader reads frames through a frames.Reader, inflating compressed
// messages (RSV1 on their first frame) as their frames arrive. It is used
// like a frames.Reader: NextFrame, then Read up to io.EOF for a data
// frame, ControlPayload for a control frame.
//
// Uncompressed messages pass through frame by frame. A compressed message
// comes as one data frame whose Read returns the inflated bytes (its
// Header().Length is -1: not known), or as several when control frames
// arrive between its frames: Read then returns io.EOF early, NextFrame
// returns the control frame and the next NextFrame an OpContinuation frame
// that goes on with the message. MessageOp turns 0 as soon as Read has
// returned a message's last byte.
//
// A control frame that arrives where a frame boundary cuts a deflate block
// in two waits for the message's next frame (the inflater cannot stop
// there), and of several pings only the latest is kept, as RFC 6455
// §5.5.3 allows. Senders that flush at each frame, as browsers and npm ws
// do, have their pings returned at once.
type Reader struct {
	// MaxMessage limits the inflated size of one compressed message: one
	// that grows past it fails with frames.ErrMessageTooBig (close 1009).
	// NewReader copies it from the frames.Reader, whose own limit keeps
	// applying to every message's size on the wire. Zero means no limit.
	MaxMessage int64

	ext  *Extension
	src  source
	h    frames.Header
	ctrl []byte

	takeover bool   // the peer compresses with context takeover
	win      window // its window, under takeover

	// The open compressed message.
	inf   *inflater // taken from the pool for the message
	msgOp frames.Opcode
	out   []byte // inflated bytes not yet returned
	size  int64  // inflated bytes so far
	ended bool   // the inflater reached the end of the message
	utf8  frames.UTF8Checker

	err error // sticky
}

// NextFrame moves to the next frame, skipping what is left of the current
// one (for a compressed message: up to its end or the next control frame).
// Errors are the frames.Reader's and this package's.
func (r *Reader) NextFrame() (frames.Header, error) {
	if r.err != nil {
		return frames.Header{}, r.err
	}
	if r.inf != nil && !r.h.Op.IsControl() && r.src.pendOp == 0 {
		// Skip the rest of the message up to its end or a control frame.
		if _, err := io.Copy(io.Discard, r); err != nil {
			return frames.Header{}, err
		}
	}
	if op := r.src.pendOp; op != 0 {
		r.src.pendOp = 0
		r.ctrl = r.src.pend[:r.src.pendN]
		r.h = frames.Header{Fin: true, Op: op, Length: int64(len(r.ctrl))}
		if op == frames.OpClose {
			r.err = errAfterClose // the message it cut cannot go on
		}
		return r.h, nil
	}
	if r.inf != nil {
		r.h = frames.Header{Op: frames.OpContinuation, Length: -1}
		return r.h, nil
	}
	h, err := r.src.fr.NextFrame()
	if err != nil {
		return h, r.fail(err)
	}
	r.h, r.ctrl = h, nil
	switch {
	case h.Op.IsControl():
		// RFC 7692 §6.1: RSV1 is for the first frame of a data message.
		if h.Rsv&frames.Rsv1 != 0 {
			return h, r.fail(ErrRsv1Control)
		}
		r.ctrl = r.src.fr.ControlPayload()
	case h.Rsv&frames.Rsv1 == 0:
		// Uncompressed: Read passes the frame through.
	case h.Op == frames.OpContinuation:
		return h, r.fail(ErrRsv1Continuation)
	default:
		r.begin(h)
		r.h.Length = -1
	}
	return r.h, nil
}

// Read reads the current data frame: the payload of an uncompressed frame,
// the inflated bytes of a compressed message. It returns io.EOF at the end
// of the frame. Invalid UTF-8 in a text message fails with
// frames.ErrInvalidUTF8; the bytes inflated with it are dropped.
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.h.Op.IsControl() {
		return 0, io.EOF
	}
	if r.inf == nil {
		if r.h.Length < 0 {
			return 0, io.EOF // a compressed message that ended
		}
		return r.src.fr.Read(p)
	}
	for len(r.out) == 0 {
		switch {
		case r.ended:
			r.finish()
			return 0, io.EOF
		case r.src.pendOp != 0:
			return 0, io.EOF // NextFrame returns the control frame
		}
		if err := r.fill(); err != nil {
			return 0, r.fail(err)
		}
		if r.inf == nil {
			return 0, io.EOF // a Close cut the message
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	if len(r.out) == 0 && r.ended {
		r.finish()
	}
	return n, nil
}

// Header returns the current frame's header. For a compressed message,
// Fin is set once Read has returned its last byte.
func (r *Reader) Header() frames.Header { return r.h }

// MessageOp returns the opcode of the open message (OpText or OpBinary),
// or 0 when none is open.
func (r *Reader) MessageOp() frames.Opcode {
	if r.inf != nil {
		return r.msgOp
	}
	return r.src.fr.MessageOp()
}

// ControlPayload returns the payload of the current control frame. It
// stays valid until the next call to NextFrame or Read.
func (r *Reader) ControlPayload() []byte { return r.ctrl }

// Release gives back the pooled state r holds and forgets the window; r
// must not be used afterwards.
func (r *Reader) Release() {
	if r.inf != nil {
		r.drop()
	}
	r.win = window{}
	r.err = errReleased
}

// begin starts a compressed message whose first frame is h.
func (r *Reader) begin(h frames.Header) {
	f := r.ext.inflater()
	r.src.begin(h)
	f.br.Reset(&r.src)
	var dict []byte
	if r.takeover {
		dict = r.win.appendTo(f.out[:0])
	}
	_ = f.zr.Reset(f.br, dict) // cannot fail
	r.inf, r.msgOp, r.out, r.size, r.ended = f, h.Op, nil, 0, false
	r.utf8.Reset()
}

// fill inflates the next stretch of the message into r.out.
func (r *Reader) fill() error {
	s, f := &r.src, r.inf
	if s.atBoundary(f.br) {
		// Read the next frame here rather than inside the inflater, so that
		// a control frame reaches the caller at once. Nothing is held back:
		// each fill takes all the inflater has (f.out is larger than its
		// window).
		return r.interrupted(s.next(false))
	}
	n, err := f.zr.Read(f.out[:])
	if err == nil && s.drained(f.br) {
		// Only the tail is left: read on to the end of the message (this
		// cannot block), so that MessageOp turns 0 with the last byte.
		var m int
		m, err = f.zr.Read(f.out[n:])
		n += m
	}
	if err != nil && err != io.EOF && s.err != nil {
		return r.interrupted(s.err) // from the frames, not the inflater
	}
	out := f.out[:n]
	r.size += int64(n)
	if r.MaxMessage > 0 && r.size > r.MaxMessage {
		return frames.ErrMessageTooBig
	}
	if r.msgOp == frames.OpText && r.utf8.Feed(out) >= 0 {
		return frames.ErrInvalidUTF8
	}
	if r.takeover {
		r.win.write(out)
	}
	r.out = out
	switch {
	case err == nil:
		return nil
	case err != io.EOF:
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	case r.msgOp == frames.OpText && !r.utf8.Complete():
		return frames.ErrInvalidUTF8
	}
	if !s.drained(f.br) {
		// A block with BFINAL set ended the data early. RFC 7692 §7.2.3.4
		// has it followed by one 0x00 octet (an empty stored block, which
		// the appended 00 00 ff ff completes); anything more would be
		// data the inflater never reads.
		var b [1]byte
		if _, err := io.ReadFull(f.br, b[:]); err != nil && s.err != nil {
			return r.interrupted(s.err)
		}
		if b[0] != 0 || !s.drained(f.br) {
			return fmt.Errorf("%w: data after the final block", ErrCorrupt)
		}
	}
	r.ended = true
	return nil
}

// interrupted handles an error from the frames: a Close inside the message
// ends it (NextFrame returns the Close next); anything else is returned.
func (r *Reader) interrupted(err error) error {
	if errors.Is(err, errClosing) {
		r.drop()
		return nil
	}
	return err
}

// finish ends the message.
func (r *Reader) finish() {
	r.drop()
	r.h.Fin = true
}

// drop gives the inflater back.
func (r *Reader) drop() {
	r.ext.putInflater(r.inf)
	r.inf, r.out, r.msgOp = nil, nil, 0
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}
