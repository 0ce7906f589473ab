package frames

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// A stream cut between frames ends with io.EOF; cut anywhere inside a
// frame (header, extended length, key, payload) it ends with
// io.ErrUnexpectedEOF. The events before the cut are delivered either way.
func TestReaderTruncated(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		mk := cframe
		if role == RoleClient {
			mk = sframe
		}
		frames := [][]byte{
			mk(true, OpPing, "p"),
			mk(false, OpText, "hel"),
			mk(true, OpContinuation, "lo"),
			mk(true, OpBinary, strings.Repeat("b", 300)),
			mk(true, OpClose, "\x03\xe8"),
		}
		all := []event{msg(OpPing, "p"), msg(OpText, "hello"), msg(OpBinary, strings.Repeat("b", 300)), msg(OpClose, "\x03\xe8")}
		// done[k] is how many events are complete after k whole frames.
		done := []int{0, 1, 1, 2, 3, 4}
		boundary := map[int]int{} // stream offset -> whole frames before it
		off := 0
		for k, f := range frames {
			boundary[off] = k
			off += len(f)
		}
		boundary[off] = len(frames)
		in := cat(frames...)
		for n := 0; n <= len(in); n++ {
			r := NewReader(iotest.HalfReader(bytes.NewReader(in[:n])), role)
			evs, err := readEvents(r, make([]byte, 64))
			k, atBoundary := boundary[n]
			if atBoundary {
				if err != io.EOF {
					t.Fatalf("%v, cut at %d (between frames): got %v, want io.EOF", role, n, err)
				}
				if d := diffEvents(evs, all[:done[k]]); d != "" {
					t.Fatalf("%v, cut at %d: %s", role, n, d)
				}
				continue
			}
			if err != io.ErrUnexpectedEOF {
				t.Fatalf("%v, cut at %d (inside a frame): got %v, want io.ErrUnexpectedEOF", role, n, err)
			}
		}
	}
}

// NextFrame skips what is left of a frame; a skipped text payload is still
// checked.
func TestReaderSkip(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		readN  int
		events []Header
		err    error
	}{
		{"binary unread", cat(cframe(true, OpBinary, "skip me"), cframe(true, OpPing, "")), 0,
			[]Header{{Fin: true, Op: OpBinary, Length: 7}, {Fin: true, Op: OpPing}}, io.EOF},
		{"binary half read", cat(cframe(true, OpBinary, strings.Repeat("s", 70000)), cframe(true, OpText, "t")), 35000,
			[]Header{{Fin: true, Op: OpBinary, Length: 70000}, {Fin: true, Op: OpText, Length: 1}}, io.EOF},
		{"text fragment unread", cat(cframe(false, OpText, "κό"), cframe(true, OpContinuation, "σμε")), 1,
			[]Header{{Op: OpText, Length: 4}, {Fin: true, Op: OpContinuation, Length: 6}}, io.EOF},
		{"invalid text unread", cat(cframe(true, OpText, "ok\xffno"), cframe(true, OpPing, "")), 2,
			[]Header{{Fin: true, Op: OpText, Length: 5}}, ErrInvalidUTF8},
		{"skip truncated", cframe(true, OpBinary, "abc")[:7], 0,
			[]Header{{Fin: true, Op: OpBinary, Length: 3}}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tt.in), RoleServer)
			var got []Header
			for {
				h, err := r.NextFrame()
				if err != nil {
					if err != tt.err {
						t.Fatalf("got error %v, want %v", err, tt.err)
					}
					break
				}
				h.Masked, h.Mask = false, [4]byte{}
				got = append(got, h)
				if len(got) == 1 && tt.readN > 0 {
					if _, err := io.ReadFull(r, make([]byte, tt.readN)); err != nil {
						t.Fatal(err)
					}
				}
			}
			if len(got) != len(tt.events) {
				t.Fatalf("got %d frames %+v, want %d", len(got), got, len(tt.events))
			}
			for i := range got {
				if got[i] != tt.events[i] {
					t.Errorf("frame %d: got %+v, want %+v", i, got[i], tt.events[i])
				}
			}
		})
	}
}

// Once the stream is broken, every call returns the same error.
func TestReaderStickyError(t *testing.T) {
	in := cat(cframe(true, OpBinary, "ok"), rawFrame(true, Rsv1, OpBinary, "bad"), cframe(true, OpBinary, "after"))
	r := NewReader(bytes.NewReader(in), RoleServer)
	if _, err := readEvents(r, make([]byte, 8)); err != ErrReservedBits {
		t.Fatalf("got %v, want %v", err, ErrReservedBits)
	}
	if _, err := r.NextFrame(); err != ErrReservedBits {
		t.Errorf("NextFrame: got %v, want %v", err, ErrReservedBits)
	}
	if _, err := r.Read(make([]byte, 8)); err != ErrReservedBits {
		t.Errorf("Read: got %v, want %v", err, ErrReservedBits)
	}
}

func TestReaderReset(t *testing.T) {
	r := NewReader(bytes.NewReader(cframe(true, OpText, "\xff")), RoleServer)
	r.MaxMessage, r.AllowedRsv = 5, Rsv1
	if _, err := readEvents(r, make([]byte, 8)); err != ErrInvalidUTF8 {
		t.Fatalf("got %v, want %v", err, ErrInvalidUTF8)
	}
	r.Reset(bytes.NewReader(cat(rawFrame(true, Rsv1, OpText, "12345"), cframe(true, OpText, "123456"))))
	if r.MaxMessage != 5 || r.AllowedRsv != Rsv1 {
		t.Errorf("got limits %d, %d after Reset, want 5, %d", r.MaxMessage, r.AllowedRsv, Rsv1)
	}
	evs, err := readEvents(r, make([]byte, 8))
	if err != ErrMessageTooBig {
		t.Errorf("got %v, want %v", err, ErrMessageTooBig)
	}
	if d := diffEvents(evs, []event{msg(OpText, "12345")}); d != "" {
		t.Error(d)
	}
}

func TestReaderAccessors(t *testing.T) {
	in := cat(cframe(false, OpText, "ab"), cframe(true, OpPing, "pp"), cframe(true, OpContinuation, "cd"))
	r := NewReader(bytes.NewReader(in), RoleServer)
	steps := []struct {
		op        Opcode
		msgOp     Opcode
		remaining int64
		control   string
	}{
		{OpText, OpText, 2, ""},
		{OpPing, OpText, 0, "pp"},
		{OpContinuation, OpText, 2, ""},
	}
	for i, s := range steps {
		h, err := r.NextFrame()
		if err != nil {
			t.Fatal(err)
		}
		if h != r.Header() || h.Op != s.op {
			t.Errorf("step %d: got header %+v and Header() %+v, want op %v", i, h, r.Header(), s.op)
		}
		if got := r.MessageOp(); got != s.msgOp {
			t.Errorf("step %d: MessageOp: got %v, want %v", i, got, s.msgOp)
		}
		if got := r.Remaining(); got != s.remaining {
			t.Errorf("step %d: Remaining: got %d, want %d", i, got, s.remaining)
		}
		if got := string(r.ControlPayload()); got != s.control {
			t.Errorf("step %d: ControlPayload: got %q, want %q", i, got, s.control)
		}
		if n, err := r.Read(nil); n != 0 || (err != nil) != (s.remaining == 0) {
			t.Errorf("step %d: Read(nil): got %d, %v", i, n, err)
		}
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
	if got := r.MessageOp(); got != 0 {
		t.Errorf("after the last fragment: MessageOp: got %v, want 0", got)
	}
}

// I/O errors other than EOF come through unchanged and stick.
func TestReaderPassesIOErrors(t *testing.T) {
	boom := errors.New("boom")
	f := cframe(true, OpBinary, "payload")
	for _, cut := range []int{0, 1, 4, len(f) - 3} {
		r := NewReader(io.MultiReader(bytes.NewReader(f[:cut]), iotest.ErrReader(boom)), RoleServer)
		_, err := readEvents(r, make([]byte, 64))
		if err != boom {
			t.Errorf("cut at %d: got %v, want %v", cut, err, boom)
		}
		if IsProtocolError(err) {
			t.Errorf("cut at %d: an I/O error counted as a protocol error", cut)
		}
	}
}

// AllowedRsv lets a negotiated extension's bits through.
func TestReaderAllowedRsv(t *testing.T) {
	in := cat(rawFrame(true, Rsv1, OpBinary, "x"), rawFrame(true, Rsv2, OpBinary, "y"))
	r := NewReader(bytes.NewReader(in), RoleServer)
	r.AllowedRsv = Rsv1
	evs, err := readEvents(r, make([]byte, 8))
	if err != ErrReservedBits {
		t.Errorf("got %v, want %v", err, ErrReservedBits)
	}
	if d := diffEvents(evs, []event{msg(OpBinary, "x")}); d != "" {
		t.Error(d)
	}
}

// Skipping a frame and reading one do not allocate.
func TestReaderAllocs(t *testing.T) {
	in := cat(cframe(true, OpBinary, strings.Repeat("x", 20000)), cframe(true, OpText, "héllo"), cframe(true, OpPing, "p"))
	src := bytes.NewReader(in)
	r := NewReader(src, RoleServer)
	buf := make([]byte, 512)
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(in)
		r.Reset(src)
		if _, err := r.NextFrame(); err != nil { // skipped unread
			t.Fatal(err)
		}
		if _, err := r.NextFrame(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := r.NextFrame(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("got %v allocs per run, want 0", allocs)
	}
}

// RFC 6455 §5.2: a 64-bit length with the top bit set fails the
// connection with 1002, in either role.
func TestReaderLengthTopBit(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		in := []byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}
		if role == RoleServer {
			in[1] |= 0x80
			in = append(in, testKey[:]...)
		}
		r := NewReader(bytes.NewReader(in), role)
		_, err := r.NextFrame()
		checkErr(t, err, ErrLengthOverflow, CloseProtocolError)
	}
}

// A text message whose first frame has an RSV bit set carries an
// extension's encoding: the Reader does not check it as UTF-8 (the
// extension checks the decoded text, with a UTF8Checker).
func TestReaderRsvTextNotChecked(t *testing.T) {
	in := cat(rawFrame(false, Rsv1, OpText, "\xff\xfe"), rawFrame(true, 0, OpContinuation, "\xe2\x82"), rawFrame(true, 0, OpText, "\xff"))
	r := NewReader(bytes.NewReader(in), RoleServer)
	r.AllowedRsv = Rsv1
	evs, err := readEvents(r, make([]byte, 8))
	if d := diffEvents(evs, []event{msg(OpText, "\xff\xfe\xe2\x82")}); d != "" {
		t.Error(d)
	}
	checkErr(t, err, ErrInvalidUTF8, CloseInvalidPayload) // the last one has no RSV bit
	var c UTF8Checker
	if c.Feed([]byte("ok \xe2\x82")) != -1 || c.Complete() || c.Feed([]byte("\xac \xff")) != 2 {
		t.Error("UTF8Checker: a split euro sign or a bad byte misjudged")
	}
	c.Reset()
	if c.Feed([]byte("\xac")) != 0 {
		t.Error("UTF8Checker: Reset kept the open code point")
	}
}
