package frames

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// wireFrame is one frame as found on the wire: its header and its payload
// after unmasking.
type wireFrame struct {
	h       Header
	payload []byte
}

// splitFrames parses b into frames with ReadHeader alone, so that writer
// tests do not depend on the Reader.
func splitFrames(t *testing.T, b []byte) []wireFrame {
	t.Helper()
	var out []wireFrame
	r := bytes.NewReader(b)
	for r.Len() > 0 {
		h, err := ReadHeader(r, new([MaxHeaderLen]byte))
		if err != nil {
			t.Fatal(err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatal(err)
		}
		if h.Masked {
			Mask(h.Mask, 0, p)
		}
		out = append(out, wireFrame{h, p})
	}
	return out
}

// A client masks every frame, each with a new key; the payload on the wire
// is not the plain text, and the caller's slice is left alone.
func TestWriterClientMasks(t *testing.T) {
	var wire bytes.Buffer
	w := NewWriter(&wire, RoleClient)
	w.MaxFrame = 100
	text := []byte(strings.Repeat("plain text ", 500)) // 5500 B
	orig := bytes.Clone(text)
	steps := []func() error{
		func() error { return w.WriteMessage(OpText, text) },                  // 55 frames
		func() error { return w.WriteFragment(OpBinary, text[:2000], false) }, // large: masked in chunks
		func() error { return w.WriteControl(OpPing, []byte("ping")) },        //
		func() error { return w.WriteFragment(OpBinary, text[2000:], true) },  //
		func() error { _, err := w.Write(text[:10]); return err },             //
		func() error { return w.WriteFrameInPlace(OpBinary, true, make([]byte, MaxHeaderLen+64)) },
		func() error { return w.WriteClose(CloseNormal, "bye") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if !bytes.Equal(text, orig) {
		t.Error("the Writer modified the caller's payload")
	}
	frames := splitFrames(t, wire.Bytes())
	if len(frames) != 55+6 {
		t.Fatalf("got %d frames, want %d", len(frames), 55+6)
	}
	keys := map[[4]byte]int{}
	for i, f := range frames {
		if !f.h.Masked {
			t.Fatalf("frame %d (%v): not masked", i, f.h.Op)
		}
		if j, ok := keys[f.h.Mask]; ok {
			t.Errorf("frames %d and %d: got the same key % x, want a fresh key per frame", j, i, f.h.Mask)
		}
		keys[f.h.Mask] = i
	}
	if bytes.Contains(wire.Bytes(), []byte("plain text")) {
		t.Error("plain text visible on the wire")
	}
	if got := string(frames[57].payload); got != string(text[2000:]) {
		t.Errorf("last fragment: got %d bytes, want %d", len(got), len(text)-2000)
	}
}

// A server never masks.
func TestWriterServerDoesNotMask(t *testing.T) {
	var wire bytes.Buffer
	w := NewWriter(&wire, RoleServer)
	w.MaxFrame = 1500
	if err := w.WriteMessage(OpBinary, pattern(4000)); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteControl(OpPong, []byte("pong")); err != nil {
		t.Fatal(err)
	}
	frames := splitFrames(t, wire.Bytes())
	wantOps := []Opcode{OpBinary, OpContinuation, OpContinuation, OpPong}
	wantLens := []int64{1500, 1500, 1000, 4}
	if len(frames) != len(wantOps) {
		t.Fatalf("got %d frames, want %d", len(frames), len(wantOps))
	}
	for i, f := range frames {
		if f.h.Masked || f.h.Op != wantOps[i] || f.h.Length != wantLens[i] || f.h.Fin != (i >= 2) {
			t.Errorf("frame %d: got %+v, want unmasked %v of %d bytes, fin %v", i, f.h, wantOps[i], wantLens[i], i >= 2)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *Writer) error // must succeed
		call  func(w *Writer) error
		want  error
	}{
		{"WriteMessage with a control opcode", nil,
			func(w *Writer) error { return w.WriteMessage(OpPing, nil) }, errNotData},
		{"WriteMessage with continuation", nil,
			func(w *Writer) error { return w.WriteMessage(OpContinuation, nil) }, errNotData},
		{"WriteMessage with a reserved opcode", nil,
			func(w *Writer) error { return w.WriteMessage(3, nil) }, errNotData},
		{"WriteMessage inside a fragmented message",
			func(w *Writer) error { return w.WriteFragment(OpText, []byte("a"), false) },
			func(w *Writer) error { return w.WriteMessage(OpText, []byte("b")) }, errMessageOpen},
		{"Write inside a fragmented message",
			func(w *Writer) error { return w.WriteFrameInPlace(OpBinary, false, make([]byte, MaxHeaderLen+1)) },
			func(w *Writer) error { _, err := w.Write([]byte("b")); return err }, errMessageOpen},
		{"WriteFragment starting with continuation", nil,
			func(w *Writer) error { return w.WriteFragment(OpContinuation, []byte("a"), true) }, errNotData},
		{"WriteFragment with a control opcode", nil,
			func(w *Writer) error { return w.WriteFragment(OpPing, nil, true) }, errNotData},
		{"WriteFragment with a control opcode mid-message",
			func(w *Writer) error { return w.WriteFragment(OpText, []byte("a"), false) },
			func(w *Writer) error { return w.WriteFragment(OpClose, nil, true) }, errNotData},
		{"WriteControl with a data opcode", nil,
			func(w *Writer) error { return w.WriteControl(OpText, nil) }, errNotControl},
		{"WriteControl with a reserved opcode", nil,
			func(w *Writer) error { return w.WriteControl(0xB, nil) }, errNotControl},
		{"WriteControl over 125 bytes", nil,
			func(w *Writer) error { return w.WriteControl(OpPing, make([]byte, 126)) }, errControlPayloadWrite},
		{"WriteMessage after close",
			func(w *Writer) error { return w.WriteClose(CloseNormal, "") },
			func(w *Writer) error { return w.WriteMessage(OpText, nil) }, errWriteAfterClose},
		{"WriteFragment after close",
			func(w *Writer) error { return w.WriteControl(OpClose, nil) },
			func(w *Writer) error { return w.WriteFragment(OpText, nil, true) }, errWriteAfterClose},
		{"WriteFrameInPlace after close",
			func(w *Writer) error { return w.WriteClose(CloseGoingAway, "") },
			func(w *Writer) error { return w.WriteFrameInPlace(OpBinary, true, make([]byte, MaxHeaderLen)) }, errWriteAfterClose},
		{"WriteMessage after an in-place close",
			func(w *Writer) error { return w.WriteFrameInPlace(OpClose, true, make([]byte, MaxHeaderLen)) },
			func(w *Writer) error { return w.WriteMessage(OpBinary, nil) }, errWriteAfterClose},
	}
	for _, tt := range tests {
		for _, role := range []Role{RoleServer, RoleClient} {
			t.Run(tt.name+"/"+role.String(), func(t *testing.T) {
				var wire bytes.Buffer
				w := NewWriter(&wire, role)
				if tt.setup != nil {
					if err := tt.setup(w); err != nil {
						t.Fatalf("setup: %v", err)
					}
				}
				before := wire.Len()
				if err := tt.call(w); err != tt.want {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
				if wire.Len() != before {
					t.Errorf("got %d bytes written by a refused call, want 0", wire.Len()-before)
				}
			})
		}
	}
}

func TestWriterClosed(t *testing.T) {
	w := NewWriter(io.Discard, RoleServer)
	if w.Closed() {
		t.Fatal("new Writer: got Closed() true")
	}
	if err := w.WriteControl(OpPing, nil); err != nil || w.Closed() {
		t.Fatalf("after a ping: got %v, Closed() %v, want nil, false", err, w.Closed())
	}
	if err := w.WriteClose(CloseNormal, "bye"); err != nil || !w.Closed() {
		t.Fatalf("after a close: got %v, Closed() %v, want nil, true", err, w.Closed())
	}
}

func TestWriteClose(t *testing.T) {
	var wire bytes.Buffer
	w := NewWriter(&wire, RoleServer)
	if err := w.WriteClose(CloseGoingAway, strings.Repeat("é", 100)); err != nil {
		t.Fatal(err)
	}
	f := splitFrames(t, wire.Bytes())[0]
	code, reason, err := ParseClose(f.payload)
	if f.h.Op != OpClose || code != CloseGoingAway || len(reason) != 122 || err != nil {
		t.Errorf("got %v code %d, reason of %d bytes, %v, want close 1001 with 122 bytes", f.h.Op, code, len(reason), err)
	}
}

// errWriter accepts n bytes, then fails.
type errWriter struct{ n int }

var errWrite = errors.New("write failed")

func (e *errWriter) Write(p []byte) (int, error) {
	if len(p) > e.n {
		k := e.n
		e.n = 0
		return k, errWrite
	}
	e.n -= len(p)
	return len(p), nil
}

// Errors from dst come back from every write method, at whatever point of
// the frame they happen.
func TestWriterPassesWriteErrors(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		for _, size := range []int{10, 5000, 100000} {
			for _, after := range []int{0, 1, size / 2} {
				w := NewWriter(&errWriter{after}, role)
				if err := w.WriteMessage(OpBinary, make([]byte, size)); err != errWrite {
					t.Errorf("%v size %d fail after %d: WriteMessage: got %v, want %v", role, size, after, err, errWrite)
				}
				w = NewWriter(&errWriter{after}, role)
				if n, err := w.Write(make([]byte, size)); n != 0 || err != errWrite {
					t.Errorf("%v size %d fail after %d: Write: got %d, %v, want 0, %v", role, size, after, n, err, errWrite)
				}
				w = NewWriter(&errWriter{after}, role)
				if err := w.WriteFrameInPlace(OpBinary, true, make([]byte, MaxHeaderLen+size)); err != errWrite {
					t.Errorf("%v size %d fail after %d: WriteFrameInPlace: got %v, want %v", role, size, after, err, errWrite)
				}
			}
		}
	}
}

// WriteFrameInPlace writes header and payload with one Write call.
func TestWriteFrameInPlaceSingleWrite(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		for _, n := range []int{0, 125, 126, 65535, 65536} {
			var c countWriter
			w := NewWriter(&c, role)
			buf := make([]byte, MaxHeaderLen+n)
			if err := w.WriteFrameInPlace(OpBinary, true, buf); err != nil {
				t.Fatal(err)
			}
			h := Header{Length: int64(n), Masked: role == RoleClient}
			if c.calls != 1 || c.bytes != HeaderLen(h)+n {
				t.Errorf("%v, %d B: got %d calls writing %d bytes, want 1 call writing %d", role, n, c.calls, c.bytes, HeaderLen(h)+n)
			}
		}
	}
}

type countWriter struct{ calls, bytes int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.calls++
	c.bytes += len(p)
	return len(p), nil
}

// Steady-state writes do not allocate, in either role, small or large.
func TestWriterAllocs(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		w := NewWriter(io.Discard, role)
		w.MaxFrame = 40000
		small, large := make([]byte, 100), make([]byte, 100000)
		inPlace := make([]byte, MaxHeaderLen+4096)
		_ = w.WriteMessage(OpBinary, large) // client role: allocates the masking buffer once
		allocs := testing.AllocsPerRun(20, func() {
			_ = w.WriteMessage(OpText, small)
			_ = w.WriteMessage(OpBinary, large)
			_ = w.WriteFragment(OpBinary, small, false)
			_ = w.WriteControl(OpPing, small[:10])
			_ = w.WriteFragment(OpBinary, large, true)
			_ = w.WriteFrameInPlace(OpBinary, true, inPlace)
			_ = w.WriteClose(CloseNormal, "reason")
			w.closed = false
		})
		if allocs != 0 {
			t.Errorf("%v: got %v allocs per run, want 0", role, allocs)
		}
	}
}

// WriteFrame sends RSV bits, opcode and FIN as given, masks in the client
// role without touching the caller's payload, and tracks the open message.
func TestWriteFrame(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		var wire bytes.Buffer
		w := NewWriter(&wire, role)
		p := []byte(strings.Repeat("compressed", 40))
		if err := w.WriteFrame(Header{Rsv: Rsv1, Op: OpText}, p); err != nil {
			t.Fatal(err)
		}
		if err := w.WriteMessage(OpBinary, nil); err != errMessageOpen {
			t.Errorf("%v: a message after an unfinished WriteFrame: got %v, want %v", role, err, errMessageOpen)
		}
		if err := w.WriteFrame(Header{Fin: true, Op: OpContinuation}, p[:3]); err != nil {
			t.Fatal(err)
		}
		if string(p[:10]) != "compressed" {
			t.Errorf("%v: payload modified", role)
		}
		got := splitFrames(t, wire.Bytes())
		if len(got) != 2 || got[0].h.Rsv != Rsv1 || got[0].h.Fin || got[0].h.Op != OpText || string(got[0].payload) != string(p) ||
			got[1].h.Rsv != 0 || !got[1].h.Fin || got[1].h.Op != OpContinuation || got[1].h.Masked != (role == RoleClient) {
			t.Errorf("%v: got frames %+v", role, got)
		}
	}
}
