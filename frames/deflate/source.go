package deflate

import (
	"bufio"
	"io"

	"wsbridge/frames"
)

// deflateTail follows every compressed message's payload on its way into
// the inflater: the 00 00 ff ff that the sender left out (RFC 7692 §7.2.2),
// then an empty final stored block, so that the inflater ends the message
// with io.EOF instead of asking for more.
const deflateTail = "\x00\x00\xff\xff\x01\x00\x00\xff\xff"

// source feeds a compressed message to the inflater: the payloads of its
// frames, then deflateTail. Control frames arriving between the frames are
// kept for the caller.
type source struct {
	fr   *frames.Reader
	last bool  // the current frame is the message's last
	sent int64 // payload bytes handed out
	tail int   // bytes of the tail handed out
	err  error // sticky

	// A control frame that arrived inside the message, awaiting the caller.
	pendOp frames.Opcode
	pendN  int
	pend   [frames.MaxControlPayload]byte
}

// begin starts a message whose first frame is h.
func (s *source) begin(h frames.Header) {
	s.last, s.sent, s.tail, s.err = h.Fin, 0, 0, nil
}

// Read implements io.Reader for the inflater's bufio.Reader. At the end
// of a frame that does not end the message it reads on to the next one.
func (s *source) Read(p []byte) (int, error) {
	for {
		switch {
		case s.err != nil:
			return 0, s.err
		case s.fr.Remaining() > 0:
			n, err := s.fr.Read(p) // never io.EOF inside a frame
			s.sent += int64(n)
			s.err = err
			return n, err
		case s.last:
			t := deflateTail
			if s.sent == 0 {
				// An empty payload, which some senders use for an empty
				// message instead of 0x00 (§7.2.3.6): the final block alone.
				t = t[4:]
			}
			if s.tail == len(t) {
				return 0, io.EOF
			}
			n := copy(p, t[s.tail:])
			s.tail += n
			return n, nil
		default:
			if err := s.next(true); err != nil {
				return 0, err
			}
		}
	}
}

// atBoundary reports whether the inflater has consumed everything up to
// the end of a frame that does not end the message.
func (s *source) atBoundary(br *bufio.Reader) bool {
	return !s.last && s.fr.Remaining() == 0 && br.Buffered() == 0
}

// drained reports whether all that is left of the message is (part of)
// the tail: the whole payload has been handed out and br buffers nothing
// from before the tail.
func (s *source) drained(br *bufio.Reader) bool {
	return s.last && s.fr.Remaining() == 0 && br.Buffered() <= s.tail
}

// next reads frames up to the message's next data frame. Control frames are
// kept for the caller: the latest ping wins over older pings and pongs (RFC
// 6455 §5.5.3 lets an endpoint answer only the latest), and a Close ends
// the message with errClosing. Unless wait, next returns at the first
// control frame.
func (s *source) next(wait bool) error {
	for {
		h, err := s.fr.NextFrame()
		if err != nil {
			s.err = err
			return err
		}
		if !h.Op.IsControl() {
			// The frames.Reader refuses a new message inside this one, so
			// this is a continuation frame.
			if h.Rsv&frames.Rsv1 != 0 {
				s.err = ErrRsv1Continuation
				return s.err
			}
			s.last = h.Fin
			return nil
		}
		if h.Rsv&frames.Rsv1 != 0 {
			s.err = ErrRsv1Control
			return s.err
		}
		s.keep(h.Op, s.fr.ControlPayload())
		if h.Op == frames.OpClose {
			s.err = errClosing
			return s.err
		}
		if !wait {
			return nil
		}
	}
}

// keep stores a control frame for the caller.
func (s *source) keep(op frames.Opcode, payload []byte) {
	if s.pendOp == frames.OpClose || (op == frames.OpPong && s.pendOp == frames.OpPing) {
		return
	}
	s.pendOp = op
	s.pendN = copy(s.pend[:], payload)
}
