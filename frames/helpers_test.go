package frames

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// testKey is the masking key of the masked examples in RFC 6455 §5.7.
var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// encode returns one frame with header h and payload, masking a copy of the
// payload when h.Masked. Length is taken from the payload.
func encode(h Header, payload []byte) []byte {
	h.Length = int64(len(payload))
	b := make([]byte, HeaderLen(h)+len(payload))
	n := PutHeader(b, h)
	copy(b[n:], payload)
	if h.Masked {
		Mask(h.Mask, 0, b[n:])
	}
	return b
}

// cframe is a frame as a client sends it (masked), for a server-role Reader.
// The key varies with op and length so that tests do not depend on one key.
func cframe(fin bool, op Opcode, payload string) []byte {
	key := testKey
	key[0] ^= byte(len(payload))
	key[2] ^= byte(op)
	return encode(Header{Fin: fin, Op: op, Masked: true, Mask: key}, []byte(payload))
}

// sframe is a frame as a server sends it (unmasked).
func sframe(fin bool, op Opcode, payload string) []byte {
	return encode(Header{Fin: fin, Op: op}, []byte(payload))
}

// rawFrame is a client frame with arbitrary RSV bits and opcode.
func rawFrame(fin bool, rsv byte, op Opcode, payload string) []byte {
	return encode(Header{Fin: fin, Rsv: rsv, Op: op, Masked: true, Mask: testKey}, []byte(payload))
}

// closeFrame is a client Close frame with code and reason.
func closeFrame(code CloseCode, reason string) []byte {
	p := append([]byte{byte(code >> 8), byte(code)}, reason...)
	return cframe(true, OpClose, string(p))
}

func cat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// unhex decodes a hex string, ignoring spaces; it panics on a typo in a table.
func unhex(s string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// event is what a Reader hands out: a whole data message (reassembled from
// its fragments, op OpText or OpBinary) or one control frame.
type event struct {
	op   Opcode
	data string
}

func (e event) String() string {
	d := e.data
	if len(d) > 24 {
		d = fmt.Sprintf("%.24q... (%d B)", d, len(d))
	} else {
		d = fmt.Sprintf("%q", d)
	}
	return e.op.String() + " " + d
}

func msg(op Opcode, data string) event { return event{op, data} }

// readEvents reads r up to its first error and returns the events before it
// with that error (io.EOF after the last frame). buf sets the size of the
// reads.
func readEvents(r *Reader, buf []byte) ([]event, error) {
	var evs []event
	var data []byte
	var op Opcode
	for {
		h, err := r.NextFrame()
		if err != nil {
			return evs, err
		}
		if h.Op.IsControl() {
			evs = append(evs, event{h.Op, string(r.ControlPayload())})
			continue
		}
		if h.Op != OpContinuation {
			op, data = h.Op, data[:0]
		}
		for {
			n, err := r.Read(buf)
			data = append(data, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				return evs, err
			}
		}
		if h.Fin {
			evs = append(evs, event{op, string(data)})
		}
	}
}

// diffEvents describes how got differs from want, or returns "".
func diffEvents(got, want []event) string {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return fmt.Sprintf("event %d: got none, want %v", i, want[i])
		case i >= len(want):
			return fmt.Sprintf("event %d: got %v, want none", i, got[i])
		case got[i] != want[i]:
			return fmt.Sprintf("event %d: got %v, want %v", i, got[i], want[i])
		}
	}
	return ""
}

// chopReader returns at most n bytes per Read, like a peer writing in
// chops of n bytes (Autobahn's "chopsize").
type chopReader struct {
	r io.Reader
	n int
}

func (c *chopReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// errStalled is what stallReader returns once its input is used up.
var errStalled = errors.New("test: read past the supplied input")

// stallReader yields data and then errStalled, standing for a peer that has
// not sent the rest yet: a Reader that returns errStalled waited for input
// it did not need.
type stallReader struct{ data []byte }

func (s *stallReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, errStalled
	}
	n := copy(p, s.data)
	s.data = s.data[n:]
	return n, nil
}

// failIndex is the reference for utf8State, using only unicode/utf8: the
// index of the first byte at which p stops being a prefix of any valid
// UTF-8 text, or -1.
func failIndex(p []byte) int {
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		if r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		// p[i:] starts with a bad or cut-short sequence. FullRune turns
		// true at its first byte that no valid sequence has there.
		for k := i + 1; k <= len(p); k++ {
			if utf8.FullRune(p[i:k]) {
				return k - 1
			}
		}
		return -1 // valid text cut short inside its last code point
	}
	return -1
}

// checkErr fails t unless err is want (by errors.Is) and carries code.
func checkErr(t *testing.T, err, want error, code CloseCode) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
	if got := CloseCodeOf(err); got != code {
		t.Fatalf("got close code %d, want %d", got, code)
	}
}
