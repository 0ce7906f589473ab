package frames

import (
	"errors"
	"io"
)

// Reader reads frames from a stream. NextFrame moves to the next frame;
// a data frame's payload is then read with Read, unmasked and checked as it
// arrives, and a control frame's payload is at hand in ControlPayload.
// Nothing is buffered beyond one control payload, so a frame of any length
// streams through in the caller's buffers.
//
// src should be buffered (a *bufio.Reader) when frames are small: a header
// is read with up to two small reads.
type Reader struct {
	// MaxMessage limits the payload of one message, summed over its
	// fragments. A frame that would take a message past it fails with
	// ErrMessageTooBig (close code 1009) as soon as its header arrives.
	// Zero means no limit, which is safe for a streaming consumer: memory
	// use does not depend on message size.
	MaxMessage int64

	// AllowedRsv holds the RSV bits a negotiated extension defines. Zero
	// (no extension) makes any set RSV bit a protocol error.
	AllowedRsv byte

	src  io.Reader
	role Role
	err  error // sticky: once the stream is broken it stays broken

	hdrBuf [MaxHeaderLen]byte
	h      Header // the current frame
	left   int64  // payload bytes of the current data frame not yet read
	pos    int    // masking key position

	msg message // the open message

	ctrl  [MaxControlPayload]byte
	ctrlN int
}

// NewReader returns a Reader for an endpoint in the given role: RoleServer
// reads a client's (masked) frames, RoleClient a server's (unmasked) ones.
func NewReader(src io.Reader, role Role) *Reader {
	return &Reader{src: src, role: role}
}

// Reset makes r read a new stream from src, forgetting all state but the
// limits.
func (r *Reader) Reset(src io.Reader) {
	*r = Reader{MaxMessage: r.MaxMessage, AllowedRsv: r.AllowedRsv, src: src, role: r.role}
}

// NextFrame skips what is left of the current frame, then reads and checks
// the next header. For a control frame it also reads the payload, which
// ControlPayload returns (a Close payload is already validated). For a data
// frame, Read returns the payload.
//
// A clean end of the stream before a header gives io.EOF; a stream that
// ends inside a frame gives io.ErrUnexpectedEOF; a protocol violation gives
// an *Error.
func (r *Reader) NextFrame() (Header, error) {
	if r.err != nil {
		return Header{}, r.err
	}
	if r.left > 0 {
		// The rest of the frame still goes through Read, so that a skipped
		// text payload is UTF-8 checked and the message state stays right.
		// (*Reader has no WriteTo, so io.Discard's pooled buffer is used.)
		if _, err := io.Copy(io.Discard, r); err != nil {
			return Header{}, err
		}
		if r.err != nil {
			return Header{}, r.err
		}
	}
	h, err := ReadHeader(r.src, &r.hdrBuf)
	if err != nil {
		return h, r.fail(err)
	}
	if err := Check(h, r.role, r.AllowedRsv); err != nil {
		return h, r.fail(err)
	}
	r.h = h
	r.ctrlN = 0
	if h.Op.IsControl() {
		return h, r.readControl()
	}
	if err := r.msg.frame(h, r.MaxMessage); err != nil {
		return h, r.fail(err)
	}
	r.left, r.pos = h.Length, 0
	if r.left == 0 {
		if err := r.endFrame(); err != nil {
			return h, err
		}
	}
	return h, nil
}

// Read reads the current data frame's payload, unmasked. It returns io.EOF
// at the end of the frame (Header.Fin tells whether the message ends
// there). In a text message it stops at the first byte that is not valid
// UTF-8 with ErrInvalidUTF8, returning the valid bytes before it (unless
// the message's first frame had an RSV bit set: its payload is then an
// extension's encoding, which the extension checks after decoding).
func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.left == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.src.Read(p)
	if n > 0 {
		if r.h.Masked {
			r.pos = Mask(r.h.Mask, r.pos, p[:n])
		}
		r.left -= int64(n)
		if i := r.msg.check(p[:n]); i >= 0 {
			return i, r.fail(ErrInvalidUTF8)
		}
		if r.left == 0 {
			if ferr := r.endFrame(); ferr != nil {
				return n, ferr
			}
			return n, nil
		}
	}
	if err != nil {
		return n, r.fail(unexpected(err))
	}
	return n, nil
}

// Header returns the current frame's header.
func (r *Reader) Header() Header { return r.h }

// MessageOp returns the opcode of the message the current data frame
// belongs to (OpText or OpBinary, also for continuation frames), or 0 when
// no message is open.
func (r *Reader) MessageOp() Opcode { return r.msg.op }

// Remaining returns how many payload bytes of the current data frame have
// not been read.
func (r *Reader) Remaining() int64 { return r.left }

// ControlPayload returns the payload of the current control frame, unmasked.
// It stays valid until the next call to NextFrame.
func (r *Reader) ControlPayload() []byte { return r.ctrl[:r.ctrlN] }

// readControl reads a control frame's payload into r.ctrl.
func (r *Reader) readControl() error {
	n := int(r.h.Length) // Check capped it at 125
	if _, err := io.ReadFull(r.src, r.ctrl[:n]); err != nil {
		return r.fail(unexpected(err))
	}
	if r.h.Masked {
		Mask(r.h.Mask, 0, r.ctrl[:n])
	}
	r.ctrlN = n
	if r.h.Op == OpClose {
		if _, _, err := ParseClose(r.ctrl[:n]); err != nil {
			return r.fail(err)
		}
	}
	return nil
}

// endFrame runs when a data frame's payload has been read in full.
func (r *Reader) endFrame() error {
	if err := r.msg.end(r.h.Fin); err != nil {
		return r.fail(err)
	}
	return nil
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// IsProtocolError reports whether err is a protocol violation by the peer
// (as opposed to an I/O error or the end of the stream).
func IsProtocolError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
