package frames

import (
	"encoding/binary"
)

// Parser decodes frames from bytes pushed to it, for callers that read a
// socket themselves (an event loop) and cannot block in an io.Reader. It
// enforces the same rules as Reader: Check on every header, continuation
// sequencing, MaxMessage, validated Close payloads and UTF-8 in text
// messages. Payloads are unmasked in place and never copied, so a frame of
// any length streams through the caller's buffer.
//
// The caller passes the bytes it holds to Next, drops the n bytes Next
// consumed and calls again; NeedMore asks for more bytes first (a header or
// a control frame is only taken whole: at most MaxHeaderLen+125 bytes).
type Parser struct {
	// MaxMessage limits the payload of one message, summed over its
	// fragments, as Reader.MaxMessage.
	MaxMessage int64

	// AllowedRsv holds the RSV bits a negotiated extension defines.
	AllowedRsv byte

	role Role
	err  error // sticky

	h    Header // the current data frame
	left int64  // its payload bytes still to come
	pos  int    // masking key position

	msg message // the open message
}

// NewParser returns a Parser for an endpoint in the given role.
func NewParser(role Role) *Parser { return &Parser{role: role} }

// ChunkKind says what Next found.
type ChunkKind uint8

// The kinds of Chunk.
const (
	// NeedMore: the bytes given do not hold a whole header or control
	// frame; nothing was consumed.
	NeedMore ChunkKind = iota
	// DataHeader: the header of a data frame (Chunk.Header); its payload
	// follows as Payload chunks (none when its length is 0).
	DataHeader
	// Payload: bytes of the current data frame's payload, unmasked in
	// place (Chunk.Payload is a sub-slice of the input).
	Payload
	// Control: a whole control frame; Chunk.Payload is its payload,
	// unmasked in place (a Close payload is validated).
	Control
)

// Chunk is one step of decoding.
type Chunk struct {
	Kind    ChunkKind
	Header  Header // DataHeader, Control
	Payload []byte // Payload, Control
	// End is set on the Payload chunk (or the DataHeader of an empty
	// frame) that completes a data frame.
	End bool
}

// InFrame reports whether payload of a data frame is still to come: the
// next chunk is Payload.
func (p *Parser) InFrame() bool { return p.left > 0 }

// Next decodes the next chunk from b and returns it with the number of
// bytes of b it consumed. A protocol violation gives an *Error, which is
// sticky.
func (p *Parser) Next(b []byte) (Chunk, int, error) {
	if p.err != nil {
		return Chunk{}, 0, p.err
	}
	if p.left > 0 {
		if len(b) == 0 {
			return Chunk{}, 0, nil
		}
		if int64(len(b)) > p.left {
			b = b[:p.left]
		}
		if p.h.Masked {
			p.pos = Mask(p.h.Mask, p.pos, b)
		}
		p.left -= int64(len(b))
		if i := p.msg.check(b); i >= 0 {
			return Chunk{Kind: Payload, Payload: b[:i]}, i, p.fail(ErrInvalidUTF8)
		}
		c := Chunk{Kind: Payload, Payload: b, End: p.left == 0}
		if c.End {
			if err := p.endFrame(); err != nil {
				return c, len(b), err
			}
		}
		return c, len(b), nil
	}
	hl := PeekHeaderLen(b)
	if hl == 0 || len(b) < hl {
		return Chunk{}, 0, nil
	}
	h := decodeHeader(b[:hl])
	if h.Length < 0 {
		return Chunk{}, 0, p.fail(ErrLengthOverflow)
	}
	if err := Check(h, p.role, p.AllowedRsv); err != nil {
		return Chunk{}, 0, p.fail(err)
	}
	if h.Op.IsControl() {
		n := hl + int(h.Length)
		if len(b) < n {
			return Chunk{}, 0, nil
		}
		payload := b[hl:n]
		if h.Masked {
			Mask(h.Mask, 0, payload)
		}
		if h.Op == OpClose {
			if _, _, err := ParseClose(payload); err != nil {
				return Chunk{}, 0, p.fail(err)
			}
		}
		return Chunk{Kind: Control, Header: h, Payload: payload}, n, nil
	}
	if err := p.msg.frame(h, p.MaxMessage); err != nil {
		return Chunk{}, 0, p.fail(err)
	}
	p.h, p.left, p.pos = h, h.Length, 0
	c := Chunk{Kind: DataHeader, Header: h, End: h.Length == 0}
	if c.End {
		if err := p.endFrame(); err != nil {
			return c, hl, err
		}
	}
	return c, hl, nil
}

// decodeHeader decodes a whole header (b is exactly PeekHeaderLen long).
// A 64-bit length with the top bit set comes back negative.
func decodeHeader(b []byte) Header {
	h := Header{
		Fin:    b[0]&0x80 != 0,
		Rsv:    (b[0] >> 4) & 0x7,
		Op:     Opcode(b[0] & 0xF),
		Masked: b[1]&0x80 != 0,
	}
	i := 2
	switch l := b[1] & 0x7F; l {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		i = 4
	case 127:
		h.Length = int64(binary.BigEndian.Uint64(b[2:10]))
		i = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.Mask[:], b[i:i+4])
	}
	return h
}

// endFrame runs when a data frame's payload is complete.
func (p *Parser) endFrame() error {
	if err := p.msg.end(p.h.Fin); err != nil {
		return p.fail(err)
	}
	return nil
}

func (p *Parser) fail(err error) error {
	p.err = err
	return err
}
