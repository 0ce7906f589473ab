package frames

import (
	crand "crypto/rand"
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// Writer writes frames to a stream. In the client role every frame is
// masked with a fresh random key (RFC 6455 §5.3); in the server role none
// is. Steady-state writes do not allocate.
//
// Data may be written as whole messages (WriteMessage, Write), as a stream
// of fragments (WriteFragment), or as single frames; control frames
// (WriteControl, WriteClose) may go between the fragments of a message.
// After a Close frame no data frame is written.
type Writer struct {
	// MaxFrame is the largest payload of one data frame: WriteMessage and
	// Write split longer payloads into fragments. Zero means no limit.
	MaxFrame int

	dst  io.Writer
	role Role
	rng  *rand.ChaCha8 // masking keys, client role only

	scratch [MaxHeaderLen + smallFrame]byte
	masked  []byte                  // client role: masked copy of a payload, allocated once
	closing [MaxControlPayload]byte // WriteClose's payload (on the stack it would escape)

	msgOpen bool // a fragmented message is open
	closed  bool // a Close frame was written
}

// smallFrame is the payload size up to which header and payload are copied
// into one buffer and written with a single Write.
const smallFrame = 256

// maskChunk is the size of the client role's masking buffer.
const maskChunk = 32 << 10

// NewWriter returns a Writer for an endpoint in the given role.
func NewWriter(dst io.Writer, role Role) *Writer {
	w := &Writer{dst: dst, role: role}
	if role == RoleClient {
		var seed [32]byte
		_, _ = crand.Read(seed[:]) // never fails (crypto/rand, Go 1.24+)
		w.rng = rand.NewChaCha8(seed)
	}
	return w
}

// Write writes p as one binary message (split at MaxFrame) and returns
// len(p). It lets a Writer stand where an io.Writer is expected.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.WriteMessage(OpBinary, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteMessage writes p as one message of type op (OpText or OpBinary),
// fragmented into frames of at most MaxFrame bytes.
func (w *Writer) WriteMessage(op Opcode, p []byte) error {
	if op != OpText && op != OpBinary {
		return errNotData
	}
	if w.msgOpen {
		return errMessageOpen
	}
	for first := true; ; first = false {
		chunk := p
		if w.MaxFrame > 0 && len(chunk) > w.MaxFrame {
			chunk = chunk[:w.MaxFrame]
		}
		p = p[len(chunk):]
		fop := op
		if !first {
			fop = OpContinuation
		}
		if err := w.writeFrame(Header{Fin: len(p) == 0, Op: fop, Length: int64(len(chunk))}, chunk); err != nil {
			return err
		}
		if len(p) == 0 {
			return nil
		}
	}
}

// WriteFragment writes p as the next fragment of a message of type op:
// the first fragment carries op, later ones are continuations, and fin
// ends the message. p is not split further. Once a message is open, op
// may also be OpContinuation.
func (w *Writer) WriteFragment(op Opcode, p []byte, fin bool) error {
	// A control or reserved opcode, or a continuation with no open message,
	// would make a frame the peer must reject (§5.4, §5.5).
	data := op == OpText || op == OpBinary
	fop := op
	if w.msgOpen {
		if !data && op != OpContinuation {
			return errNotData
		}
		fop = OpContinuation
	} else if !data {
		return errNotData
	}
	if err := w.writeFrame(Header{Fin: fin, Op: fop, Length: int64(len(p))}, p); err != nil {
		return err
	}
	w.msgOpen = !fin
	return nil
}

// WriteControl writes a ping, pong or close frame. It may be called between
// the fragments of a message.
func (w *Writer) WriteControl(op Opcode, payload []byte) error {
	if !op.IsControl() || op.IsReserved() {
		return errNotControl
	}
	if len(payload) > MaxControlPayload {
		return errControlPayloadWrite
	}
	err := w.writeFrame(Header{Fin: true, Op: op, Length: int64(len(payload))}, payload)
	if op == OpClose {
		w.closed = true
	}
	return err
}

// WriteClose writes a Close frame with code and reason (see AppendClose).
func (w *Writer) WriteClose(code CloseCode, reason string) error {
	return w.WriteControl(OpClose, AppendClose(w.closing[:0], code, reason))
}

// Closed reports whether a Close frame has been written.
func (w *Writer) Closed() bool { return w.closed }

// WriteFrameInPlace writes one frame whose payload is buf[MaxHeaderLen:].
// The first MaxHeaderLen bytes of buf are scratch space: the header is
// encoded right before the payload so that header and payload go out in a
// single Write, with no copy. In the client role the payload is masked in
// place. This is the bridge's hot path: op and fin go out as given, and the
// caller keeps fragments in order (the Writer only tracks whether a message
// is open and whether a Close frame was written).
func (w *Writer) WriteFrameInPlace(op Opcode, fin bool, buf []byte) error {
	if w.closed {
		return errWriteAfterClose
	}
	payload := buf[MaxHeaderLen:]
	h := Header{Fin: fin, Op: op, Length: int64(len(payload))}
	if w.role == RoleClient {
		h.Masked = true
		h.Mask = w.newKey()
		Mask(h.Mask, 0, payload)
	}
	start := MaxHeaderLen - HeaderLen(h)
	PutHeader(buf[start:], h)
	_, err := w.dst.Write(buf[start:])
	switch {
	case op == OpClose:
		w.closed = true
	case !op.IsControl():
		w.msgOpen = !fin
	}
	return err
}

// WriteFrame writes one frame with payload p as h describes it: Fin, Rsv
// and Op go out as given, Length and the mask are filled in (p is never
// modified). It is for extensions that give meaning to RSV bits:
// permessage-deflate sets RSV1 on the first frame of a compressed message.
// As with WriteFrameInPlace, the caller keeps fragments in order.
func (w *Writer) WriteFrame(h Header, p []byte) error {
	h.Length, h.Masked = int64(len(p)), false
	err := w.writeFrame(h, p)
	switch {
	case h.Op == OpClose:
		w.closed = true
	case !h.Op.IsControl():
		w.msgOpen = !h.Fin
	}
	return err
}

// writeFrame writes one frame with payload p, which it never modifies.
func (w *Writer) writeFrame(h Header, p []byte) error {
	if w.closed {
		return errWriteAfterClose
	}
	if w.role == RoleClient {
		h.Masked = true
		h.Mask = w.newKey()
	}
	n := PutHeader(w.scratch[:], h)
	if len(p) <= smallFrame {
		n += copy(w.scratch[n:], p)
		if h.Masked {
			Mask(h.Mask, 0, w.scratch[n-len(p):n])
		}
		_, err := w.dst.Write(w.scratch[:n])
		return err
	}
	if _, err := w.dst.Write(w.scratch[:n]); err != nil {
		return err
	}
	if !h.Masked {
		_, err := w.dst.Write(p)
		return err
	}
	if w.masked == nil {
		w.masked = make([]byte, maskChunk)
	}
	pos := 0
	for len(p) > 0 {
		c := copy(w.masked, p)
		pos = Mask(h.Mask, pos, w.masked[:c])
		if _, err := w.dst.Write(w.masked[:c]); err != nil {
			return err
		}
		p = p[c:]
	}
	return nil
}

func (w *Writer) newKey() [4]byte {
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], uint32(w.rng.Uint64()))
	return k
}
