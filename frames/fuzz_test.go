package frames

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// readerSeeds are the client streams of the table tests: the Autobahn
// cases (but the large ones), the RFC examples and truncated frames.
func readerSeeds() [][]byte {
	var seeds [][]byte
	for _, group := range [][]abCase{framingCases(), pingCases(), reservedBitsCases(), opcodeCases(),
		fragmentationCases(), textCases(), closeCases()} {
		for _, c := range group {
			if in := cat(c.frames...); len(in) <= 4096 {
				seeds = append(seeds, in)
			}
		}
	}
	for _, ex := range rfcExamples {
		if len(ex.wire) <= 4096 {
			seeds = append(seeds, ex.wire)
		}
	}
	f := cframe(true, OpBinary, "truncated")
	seeds = append(seeds, f[:1], f[:5], f[:len(f)-1],
		[]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}) // 64-bit length, top bit set
	return seeds
}

// FuzzReader drives a Reader over arbitrary bytes in both roles, with and
// without a size limit, reading some frames and skipping others. It must
// never panic, must end with io.EOF, io.ErrUnexpectedEOF or a protocol
// error carrying 1002, 1007 or 1009, must never hand out more bytes than it
// was given, and what it hands out must obey the rules it enforces.
func FuzzReader(f *testing.F) {
	for i, s := range readerSeeds() {
		f.Add(s, i%3 == 0, uint16(i%5*40), uint8(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, client bool, limit uint16, skips uint8) {
		role := RoleServer
		if client {
			role = RoleClient
		}
		r := NewReader(unevenReader(data), role)
		r.MaxMessage = int64(limit)
		buf := make([]byte, 1+int(skips)%64)
		handed := 0 // payload bytes handed out
		var (
			text   []byte // the open text message, as read so far
			op     Opcode // the open message's type
			gap    bool   // a fragment of it was skipped
			msgLen int64
		)
		var err error
		for frame := 0; ; frame++ {
			var h Header
			h, err = r.NextFrame()
			if err != nil {
				break
			}
			if h.Op.IsControl() {
				p := r.ControlPayload()
				handed += len(p)
				if len(p) > MaxControlPayload || !h.Fin {
					t.Fatalf("got control frame %+v with %d bytes", h, len(p))
				}
				if h.Op == OpClose {
					if _, _, err := ParseClose(p); err != nil {
						t.Fatalf("got a close payload % x that ParseClose refuses: %v", p, err)
					}
				}
				continue
			}
			if h.Op != OpContinuation {
				text, op, gap, msgLen = text[:0], h.Op, false, 0
			}
			msgLen += h.Length
			if r.MaxMessage > 0 && msgLen > r.MaxMessage {
				t.Fatalf("got a message of %d bytes past the limit %d", msgLen, r.MaxMessage)
			}
			if skips>>(frame%8)&1 != 0 && h.Length > 0 {
				gap = true
				continue // NextFrame skips the payload
			}
			for {
				var n int
				n, err = r.Read(buf)
				if n < 0 || n > len(buf) {
					t.Fatalf("Read returned %d for a %d-byte buffer", n, len(buf))
				}
				handed += n
				if op == OpText {
					text = append(text, buf[:n]...)
				}
				if err != nil {
					break
				}
			}
			if err != io.EOF {
				break
			}
			err = nil
			if h.Fin && !gap && !utf8.Valid(text) {
				t.Fatalf("got invalid UTF-8 % x in a text message", text)
			}
		}
		if handed > len(data) {
			t.Fatalf("handed out %d bytes from %d bytes of input", handed, len(data))
		}
		if !gap && failIndex(text) >= 0 {
			t.Fatalf("got text % x past an invalid byte", text)
		}
		switch {
		case err == io.EOF, err == io.ErrUnexpectedEOF:
		case errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrInvalidCloseReason):
			if CloseCodeOf(err) != CloseInvalidPayload {
				t.Fatalf("got %v with code %d", err, CloseCodeOf(err))
			}
		default:
			if c := CloseCodeOf(err); c != CloseProtocolError && c != CloseMessageTooBig {
				t.Fatalf("got error %v (close code %d), want EOF or 1002/1007/1009", err, c)
			}
		}
		if _, again := r.NextFrame(); again != err {
			t.Fatalf("error did not stick: got %v, then %v", err, again)
		}
	})
}

// unevenReader returns data in reads of 1 to 7 bytes (set by the input's
// length), so that reads also end inside headers and code points.
func unevenReader(data []byte) io.Reader {
	return &chopReader{bytes.NewReader(data), 1 + len(data)%7}
}

// FuzzUTF8 checks the incremental validator against unicode/utf8 on input
// split at two points.
func FuzzUTF8(f *testing.F) {
	for _, c := range utf8Cases {
		f.Add([]byte(unhex(c.hex)), uint16(1), uint16(3))
	}
	f.Add([]byte("plain ASCII, long enough for the eight-byte path"), uint16(9), uint16(17))
	f.Fuzz(func(t *testing.T, p []byte, a, b uint16) {
		i, j := int(a)%(len(p)+1), int(b)%(len(p)+1)
		if i > j {
			i, j = j, i
		}
		got, complete := feedAll(p, i, j)
		if want := failIndex(p); got != want {
			t.Fatalf("% x split at %d,%d: got first invalid byte %d, want %d", p, i, j, got, want)
		}
		if valid := got < 0 && complete; valid != utf8.Valid(p) {
			t.Fatalf("% x split at %d,%d: got valid %v, utf8.Valid says %v", p, i, j, valid, !valid)
		}
	})
}

// FuzzRoundTrip writes two messages with a Writer (one fragmented at
// MaxFrame, one by hand with a ping between its fragments) and reads them
// back in the other role, in reads of chop bytes.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Hello"), true, uint16(3), false, uint16(2), uint8(0))
	f.Add(pattern(300), false, uint16(125), true, uint16(126), uint8(6))
	f.Add(textOf(1000), true, uint16(0), true, uint16(999), uint8(1))
	f.Add([]byte{}, true, uint16(1), false, uint16(0), uint8(2))
	f.Fuzz(func(t *testing.T, p []byte, text bool, maxFrame uint16, client bool, cut uint16, chop uint8) {
		op := OpBinary
		if text && utf8.Valid(p) {
			op = OpText
		}
		writer, reader := RoleServer, RoleClient
		if client {
			writer, reader = RoleClient, RoleServer
		}
		var wire bytes.Buffer
		w := NewWriter(&wire, writer)
		w.MaxFrame = int(maxFrame)
		if err := w.WriteMessage(op, p); err != nil {
			t.Fatal(err)
		}
		k := int(cut) % (len(p) + 1)
		steps := []error{
			w.WriteFragment(OpBinary, p[:k], false),
			w.WriteControl(OpPing, p[:min(k, MaxControlPayload)]),
			w.WriteFragment(OpBinary, p[k:], true),
			w.WriteClose(CloseNormal, ""),
		}
		for i, err := range steps {
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		r := NewReader(&chopReader{&wire, 1 + int(chop)}, reader)
		evs, err := readEvents(r, make([]byte, 1+int(chop)*3))
		if err != io.EOF {
			t.Fatalf("got error %v, want io.EOF", err)
		}
		want := []event{msg(op, string(p)), msg(OpPing, string(p[:min(k, MaxControlPayload)])),
			msg(OpBinary, string(p)), msg(OpClose, "\x03\xe8")}
		if d := diffEvents(evs, want); d != "" {
			t.Fatal(d)
		}
	})
}
