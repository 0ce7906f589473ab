package frames

import "math"

// message is the state of the data message being read, and the rules that
// span its frames, for Reader and Parser alike: §5.4's continuations,
// MaxMessage, and §8.1's UTF-8 for text messages.
type message struct {
	op   Opcode // opcode of the open message, or 0 when none is open
	len  int64  // its payload so far, counting the current frame whole
	text bool   // the open message's payload is checked as UTF-8
	utf8 utf8State
}

// frame checks the header of a data frame against the open message and
// limit (0: none), then opens the message or adds the frame to it.
func (m *message) frame(h Header, limit int64) error {
	switch h.Op {
	case OpContinuation:
		// §5.4: continuation frames only follow an unfinished message.
		if m.op == 0 {
			return ErrOrphanContinuation
		}
	default:
		// §5.4: the fragments of one message are not interleaved with
		// another message's.
		if m.op != 0 {
			return ErrUnfinishedMessage
		}
		m.op, m.len = h.Op, 0
		// A message whose first frame has an RSV bit set carries an
		// extension's encoding (permessage-deflate's compressed bytes):
		// the extension checks the text once it has decoded it.
		m.text = h.Op == OpText && h.Rsv == 0
		m.utf8.reset()
	}
	// Compare before adding: len+h.Length can overflow int64 (two frames
	// of 2^62 bytes), which would let a message slip past the limit.
	if limit > 0 && h.Length > limit-m.len {
		return ErrMessageTooBig
	}
	if h.Length > math.MaxInt64-m.len {
		m.len = math.MaxInt64 // no limit set: saturate rather than wrap
	} else {
		m.len += h.Length
	}
	return nil
}

// check validates payload bytes p (unmasked) of the open message: the
// index of the first byte that is not valid UTF-8 in a text message, or
// -1.
func (m *message) check(p []byte) int {
	if !m.text {
		return -1
	}
	return m.utf8.feed(p)
}

// end runs when a data frame's payload is complete; fin ends the message,
// which must then be whole UTF-8 if it is text (§8.1: a code point left
// open at the end is invalid).
func (m *message) end(fin bool) error {
	if !fin {
		return nil
	}
	if m.text && !m.utf8.complete() {
		return ErrInvalidUTF8
	}
	m.op = 0
	return nil
}
