package frames

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// The size × chunked-reader × write-method matrix of gorilla/websocket's
// TestFraming: a Writer in one role writes, a Reader in the other role reads
// through a reader that returns the stream in awkward pieces.

var matrixLengths = []int{0, 1, 125, 126, 127, 65535, 65536, 65537}

var chunkers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"OneByteReader", iotest.OneByteReader},
	{"HalfReader", iotest.HalfReader},
	{"DataErrReader", iotest.DataErrReader},
}

// writeMethod writes one message p of type op with w. pings are the
// payloads of the pings it puts between fragments, which a reader sees
// before the message.
type writeMethod struct {
	name    string
	binOnly bool
	write   func(w *Writer, op Opcode, p []byte) error
	pings   []string
}

var writeMethods = []writeMethod{
	{"WriteMessage", false, func(w *Writer, op Opcode, p []byte) error {
		return w.WriteMessage(op, p)
	}, nil},
	{"WriteMessage/MaxFrame=1000", false, func(w *Writer, op Opcode, p []byte) error {
		w.MaxFrame = 1000
		return w.WriteMessage(op, p)
	}, nil},
	{"WriteFragment+ping", false, func(w *Writer, op Opcode, p []byte) error {
		// Three fragments of uneven size, a ping after each of the first two.
		a, b := len(p)/3, len(p)/3+len(p)/5
		for i, part := range [][]byte{p[:a], p[a:b], p[b:]} {
			if err := w.WriteFragment(op, part, i == 2); err != nil {
				return err
			}
			if i < 2 {
				if err := w.WriteControl(OpPing, fmt.Appendf(nil, "ping %d", i)); err != nil {
					return err
				}
			}
		}
		return nil
	}, []string{"ping 0", "ping 1"}},
	{"Write", true, func(w *Writer, _ Opcode, p []byte) error {
		n, err := w.Write(p)
		if err == nil && n != len(p) {
			return fmt.Errorf("Write returned %d, want %d", n, len(p))
		}
		return err
	}, nil},
	{"WriteFrameInPlace", false, func(w *Writer, op Opcode, p []byte) error {
		buf := make([]byte, MaxHeaderLen+len(p))
		copy(buf[MaxHeaderLen:], p)
		return w.WriteFrameInPlace(op, true, buf)
	}, nil},
}

// textOf returns n bytes of valid UTF-8 with code points of every length,
// so that fragment and read boundaries fall inside code points.
func textOf(n int) []byte {
	runes := []rune{'a', 'κ', '€', '😀', 'z', 'é'}
	b := make([]byte, 0, n)
	for i := 0; ; i++ {
		r := runes[i%len(runes)]
		if len(b)+utf8.RuneLen(r) > n {
			break
		}
		b = utf8.AppendRune(b, r)
	}
	for len(b) < n {
		b = append(b, 'a')
	}
	return b
}

func otherRole(r Role) Role {
	if r == RoleServer {
		return RoleClient
	}
	return RoleServer
}

func TestFramingMatrix(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		for _, n := range matrixLengths {
			for _, op := range []Opcode{OpText, OpBinary} {
				payload := pattern(n)
				if op == OpText {
					payload = textOf(n)
				}
				for _, m := range writeMethods {
					if m.binOnly && op != OpBinary {
						continue
					}
					var wire bytes.Buffer
					w := NewWriter(&wire, otherRole(role))
					if err := m.write(w, op, bytes.Clone(payload)); err != nil {
						t.Fatalf("%s: %v", m.name, err)
					}
					want := []event{}
					for _, p := range m.pings {
						want = append(want, msg(OpPing, p))
					}
					want = append(want, msg(op, string(payload)))
					for _, c := range chunkers {
						name := fmt.Sprintf("%v reads/%d/%v/%s/%s", role, n, op, m.name, c.name)
						t.Run(name, func(t *testing.T) {
							r := NewReader(c.wrap(bytes.NewReader(wire.Bytes())), role)
							evs, err := readEvents(r, make([]byte, 4096))
							if err != io.EOF {
								t.Errorf("got error %v, want io.EOF", err)
							}
							if d := diffEvents(evs, want); d != "" {
								t.Error(d)
							}
						})
					}
				}
			}
		}
	}
}

// One multi-MiB message each way, in frames of 1 MiB and in one frame.
func TestFramingLarge(t *testing.T) {
	payload := textOf(3<<20 + 7)
	for _, role := range []Role{RoleServer, RoleClient} {
		for _, maxFrame := range []int{0, 1 << 20} {
			var wire bytes.Buffer
			w := NewWriter(&wire, otherRole(role))
			w.MaxFrame = maxFrame
			if err := w.WriteMessage(OpText, payload); err != nil {
				t.Fatal(err)
			}
			t.Run(fmt.Sprintf("%v reads/MaxFrame=%d", role, maxFrame), func(t *testing.T) {
				r := NewReader(iotest.HalfReader(bytes.NewReader(wire.Bytes())), role)
				evs, err := readEvents(r, make([]byte, 32<<10))
				if err != io.EOF {
					t.Errorf("got error %v, want io.EOF", err)
				}
				if d := diffEvents(evs, []event{msg(OpText, string(payload))}); d != "" {
					t.Error(d)
				}
			})
		}
	}
}

// A Writer's frames are readable only in the opposite role: a server
// refuses unmasked frames, a client masked ones.
func TestFramingRoleMismatch(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		var wire bytes.Buffer
		if err := NewWriter(&wire, role).WriteMessage(OpBinary, []byte("x")); err != nil {
			t.Fatal(err)
		}
		want := ErrUnmaskedFrame
		if role == RoleClient {
			want = ErrMaskedFrame
		}
		_, err := NewReader(&wire, role).NextFrame()
		checkErr(t, err, want, CloseProtocolError)
	}
}
