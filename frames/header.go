package frames

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Opcode is a frame's opcode (RFC 6455 §5.2).
type Opcode byte

// The opcodes defined by RFC 6455. All others are reserved.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether op is a control opcode (high bit set).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// IsReserved reports whether op is one of the reserved opcodes 3–7 and 0xB–0xF.
func (op Opcode) IsReserved() bool {
	switch op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return false
	}
	return true
}

// String returns the opcode's name, or its number for reserved opcodes.
func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("opcode(%d)", byte(op))
}

// The RSV bits as they sit in Header.Rsv.
const (
	Rsv1 byte = 0x4
	Rsv2 byte = 0x2
	Rsv3 byte = 0x1
)

// MaxHeaderLen is the longest encoded frame header: 2 bytes, an 8-byte
// extended length and a 4-byte masking key.
const MaxHeaderLen = 14

// MaxControlPayload is the largest payload a control frame may carry
// (RFC 6455 §5.5).
const MaxControlPayload = 125

// Header is a decoded frame header. Decoding does not validate it; Check does.
type Header struct {
	Fin    bool
	Rsv    byte // RSV1..RSV3 in the low three bits
	Op     Opcode
	Masked bool
	Mask   [4]byte
	Length int64
}

// HeaderLen returns the number of bytes PutHeader writes for h.
func HeaderLen(h Header) int {
	n := 2
	switch {
	case h.Length > 0xFFFF:
		n += 8
	case h.Length > 125:
		n += 2
	}
	if h.Masked {
		n += 4
	}
	return n
}

// PutHeader encodes h into b, which must hold at least HeaderLen(h) bytes,
// and returns the number of bytes written. The length is encoded in the
// minimal number of bytes, as RFC 6455 §5.2 requires.
func PutHeader(b []byte, h Header) int {
	b0 := byte(h.Op&0xF) | (h.Rsv&0x7)<<4
	if h.Fin {
		b0 |= 0x80
	}
	b[0] = b0
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	n := 2
	switch {
	case h.Length > 0xFFFF:
		b[1] = b1 | 127
		binary.BigEndian.PutUint64(b[2:10], uint64(h.Length))
		n = 10
	case h.Length > 125:
		b[1] = b1 | 126
		binary.BigEndian.PutUint16(b[2:4], uint16(h.Length))
		n = 4
	default:
		b[1] = b1 | byte(h.Length)
	}
	if h.Masked {
		copy(b[n:n+4], h.Mask[:])
		n += 4
	}
	return n
}

// ReadHeader reads one frame header from r, using buf as scratch space. It
// reads exactly the header's bytes, so input may be chopped anywhere. A
// 64-bit length with the most significant bit set is a protocol error
// (RFC 6455 §5.2); every other rule is left to Check.
func ReadHeader(r io.Reader, buf *[MaxHeaderLen]byte) (Header, error) {
	var h Header
	if _, err := io.ReadFull(r, buf[:2]); err != nil {
		return h, err
	}
	h.Fin = buf[0]&0x80 != 0
	h.Rsv = (buf[0] >> 4) & 0x7
	h.Op = Opcode(buf[0] & 0xF)
	h.Masked = buf[1]&0x80 != 0
	extra := 0
	switch l := buf[1] & 0x7F; l {
	case 126:
		extra = 2
	case 127:
		extra = 8
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		extra += 4
	}
	if extra == 0 {
		return h, nil
	}
	if _, err := io.ReadFull(r, buf[2:2+extra]); err != nil {
		return h, unexpected(err)
	}
	p := buf[2 : 2+extra]
	switch buf[1] & 0x7F {
	case 126:
		h.Length = int64(binary.BigEndian.Uint16(p))
		p = p[2:]
	case 127:
		// RFC 6455 §5.2: "the most significant bit MUST be 0".
		u := binary.BigEndian.Uint64(p)
		if u>>63 != 0 {
			return h, ErrLengthOverflow
		}
		h.Length = int64(u)
		p = p[8:]
	}
	if h.Masked {
		copy(h.Mask[:], p)
	}
	return h, nil
}

// unexpected turns io.EOF inside a frame into io.ErrUnexpectedEOF, so that
// callers can tell a clean end between frames from a truncated frame.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// PeekHeaderLen returns the length of the header that b begins with, as
// told by its first two bytes, or 0 if b is shorter than that.
func PeekHeaderLen(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	n := 2
	switch b[1] & 0x7F {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	return n
}
