package frames

import (
	"bytes"
	"io"
	"testing"
)

// The examples of RFC 6455 §5.7, as vectors for both directions.
var rfcExamples = []struct {
	name   string
	wire   []byte
	role   Role // the role that reads wire
	frames []Header
	events []event
}{
	{
		name:   "single-frame unmasked text",
		wire:   []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		role:   RoleClient,
		frames: []Header{{Fin: true, Op: OpText, Length: 5}},
		events: []event{msg(OpText, "Hello")},
	},
	{
		name:   "single-frame masked text",
		wire:   []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		role:   RoleServer,
		frames: []Header{{Fin: true, Op: OpText, Masked: true, Mask: testKey, Length: 5}},
		events: []event{msg(OpText, "Hello")},
	},
	{
		name: "fragmented unmasked text",
		wire: []byte{0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f},
		role: RoleClient,
		frames: []Header{
			{Op: OpText, Length: 3},
			{Fin: true, Op: OpContinuation, Length: 2},
		},
		events: []event{msg(OpText, "Hello")},
	},
	{
		name:   "unmasked ping",
		wire:   []byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f},
		role:   RoleClient,
		frames: []Header{{Fin: true, Op: OpPing, Length: 5}},
		events: []event{msg(OpPing, "Hello")},
	},
	{
		name:   "masked pong",
		wire:   []byte{0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58},
		role:   RoleServer,
		frames: []Header{{Fin: true, Op: OpPong, Masked: true, Mask: testKey, Length: 5}},
		events: []event{msg(OpPong, "Hello")},
	},
	{
		name:   "256 bytes binary in a single unmasked frame",
		wire:   append([]byte{0x82, 0x7E, 0x01, 0x00}, pattern(256)...),
		role:   RoleClient,
		frames: []Header{{Fin: true, Op: OpBinary, Length: 256}},
		events: []event{msg(OpBinary, string(pattern(256)))},
	},
	{
		name:   "64KiB binary in a single unmasked frame",
		wire:   append([]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}, pattern(65536)...),
		role:   RoleClient,
		frames: []Header{{Fin: true, Op: OpBinary, Length: 65536}},
		events: []event{msg(OpBinary, string(pattern(65536)))},
	},
}

// pattern returns n bytes that repeat with a period prime to the mask's.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 251)
	}
	return b
}

func TestRFC6455Examples(t *testing.T) {
	for _, ex := range rfcExamples {
		t.Run(ex.name, func(t *testing.T) {
			t.Run("encode", func(t *testing.T) {
				// In these examples the frames' payloads, in order, spell
				// out the events' data.
				var plain []byte
				for _, e := range ex.events {
					plain = append(plain, e.data...)
				}
				var got []byte
				for _, h := range ex.frames {
					got = append(got, encode(h, plain[:h.Length])...)
					plain = plain[h.Length:]
				}
				if !bytes.Equal(got, ex.wire) {
					t.Errorf("got % x, want % x", head(got), head(ex.wire))
				}
			})
			t.Run("decode", func(t *testing.T) {
				r := NewReader(bytes.NewReader(ex.wire), ex.role)
				for i, want := range ex.frames {
					h, err := r.NextFrame()
					if err != nil {
						t.Fatalf("frame %d: got error %v", i, err)
					}
					if h != want {
						t.Errorf("frame %d: got %+v, want %+v", i, h, want)
					}
				}
				r = NewReader(bytes.NewReader(ex.wire), ex.role)
				evs, err := readEvents(r, make([]byte, 100))
				if err != io.EOF {
					t.Errorf("got error %v, want io.EOF", err)
				}
				if d := diffEvents(evs, ex.events); d != "" {
					t.Error(d)
				}
			})
		})
	}
}

// The unmasked examples are exactly what a server-role Writer produces.
func TestRFC6455ExamplesWriter(t *testing.T) {
	tests := []struct {
		name  string
		write func(w *Writer) error
		want  []byte
	}{
		{"single-frame unmasked text", func(w *Writer) error {
			return w.WriteMessage(OpText, []byte("Hello"))
		}, rfcExamples[0].wire},
		{"fragmented unmasked text", func(w *Writer) error {
			if err := w.WriteFragment(OpText, []byte("Hel"), false); err != nil {
				return err
			}
			return w.WriteFragment(OpText, []byte("lo"), true)
		}, rfcExamples[2].wire},
		{"fragmented by MaxFrame", func(w *Writer) error {
			w.MaxFrame = 3
			return w.WriteMessage(OpText, []byte("Hello"))
		}, rfcExamples[2].wire},
		{"unmasked ping", func(w *Writer) error {
			return w.WriteControl(OpPing, []byte("Hello"))
		}, rfcExamples[3].wire},
		{"256 bytes binary", func(w *Writer) error {
			_, err := w.Write(pattern(256))
			return err
		}, rfcExamples[5].wire},
		{"64KiB binary", func(w *Writer) error {
			return w.WriteMessage(OpBinary, pattern(65536))
		}, rfcExamples[6].wire},
		{"64KiB binary in place", func(w *Writer) error {
			return w.WriteFrameInPlace(OpBinary, true, append(make([]byte, MaxHeaderLen), pattern(65536)...))
		}, rfcExamples[6].wire},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := tt.write(NewWriter(&out, RoleServer)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), tt.want) {
				t.Errorf("got % x, want % x", head(out.Bytes()), head(tt.want))
			}
		})
	}
}

// head shortens b for messages.
func head(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}
