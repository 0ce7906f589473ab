package frames

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"
)

// lazyFrame is a reader that produces one frame header followed by an
// endless payload, without holding the payload in memory.
type lazyFrame struct {
	hdr []byte
	n   int64 // bytes produced
}

func (l *lazyFrame) Read(p []byte) (int, error) {
	k := 0
	if len(l.hdr) > 0 {
		k = copy(p, l.hdr)
		l.hdr = l.hdr[k:]
	}
	for ; k < len(p); k++ {
		p[k] = 'a' // masked below; unmasked by the Reader
	}
	l.n += int64(k)
	return k, nil
}

// A declared length of 2^40 is streamed, never allocated: the header and a
// few KiB of payload come through with memory that does not grow with the
// declared length.
func TestReaderHugeLength(t *testing.T) {
	const length = 1 << 40
	h := Header{Fin: true, Op: OpBinary, Masked: true, Mask: testKey, Length: length}
	hdr := make([]byte, HeaderLen(h))
	PutHeader(hdr, h)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	src := &lazyFrame{hdr: hdr}
	r := NewReader(src, RoleServer)
	got, err := r.NextFrame()
	if err != nil || got.Length != length {
		t.Fatalf("got length %d, %v, want %d, nil", got.Length, err, int64(length))
	}
	buf := make([]byte, 4096)
	want := bytes.Repeat([]byte{'a'}, len(buf))
	Mask(testKey, 0, want)
	for range 4 {
		n, err := io.ReadFull(r, buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Fatalf("got %d bytes, %v; want %d unmasked bytes", n, err, len(buf))
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Errorf("allocated %d bytes to read a 2^40-byte frame's start, want under 64 KiB", grew)
	}
	if got, want := r.Remaining(), int64(length-4*len(buf)); got != want {
		t.Errorf("Remaining: got %d, want %d", got, want)
	}
}

// With a limit, a frame over it fails as soon as its header is read, before
// any of its payload.
func TestReaderHugeLengthOverLimit(t *testing.T) {
	h := Header{Fin: true, Op: OpBinary, Masked: true, Mask: testKey, Length: 1 << 40}
	hdr := make([]byte, HeaderLen(h))
	PutHeader(hdr, h)
	src := &lazyFrame{hdr: hdr}
	r := NewReader(src, RoleServer)
	r.MaxMessage = 1 << 20
	_, err := r.NextFrame()
	checkErr(t, err, ErrMessageTooBig, CloseMessageTooBig)
	if src.n > int64(len(hdr))+MaxHeaderLen {
		t.Errorf("read %d bytes, want no more than the header's %d", src.n, len(hdr))
	}
}

func TestReaderMaxMessage(t *testing.T) {
	big := func(fin bool, op Opcode, length int64) []byte {
		b := make([]byte, MaxHeaderLen)
		return b[:PutHeader(b, Header{Fin: fin, Op: op, Masked: true, Length: length})]
	}
	tests := []struct {
		name   string
		limit  int64
		in     []byte
		events []event
		err    error
	}{
		{"at the limit", 10, cframe(true, OpText, "0123456789"),
			[]event{msg(OpText, "0123456789")}, io.EOF},
		{"one over", 10, cframe(true, OpBinary, "0123456789A"), nil, ErrMessageTooBig},
		{"fragments at the limit", 10, cat(cframe(false, OpText, "01234"), cframe(true, OpContinuation, "56789")),
			[]event{msg(OpText, "0123456789")}, io.EOF},
		{"fragments over", 10, cat(cframe(false, OpText, "01234"), cframe(true, OpContinuation, "56789A")),
			nil, ErrMessageTooBig},
		{"control frames do not count", 4, cat(cframe(false, OpText, "01"), cframe(true, OpPing, "ping"),
			cframe(true, OpContinuation, "23")),
			[]event{msg(OpPing, "ping"), msg(OpText, "0123")}, io.EOF},
		{"counted per message", 4, cat(cframe(true, OpText, "0123"), cframe(true, OpText, "4567")),
			[]event{msg(OpText, "0123"), msg(OpText, "4567")}, io.EOF},
		{"no limit", 0, cframe(true, OpBinary, strings.Repeat("x", 1000)),
			[]event{msg(OpBinary, strings.Repeat("x", 1000))}, io.EOF},
		// Regression: the sum of the lengths overflowed int64 and the
		// negative total passed the limit.
		{"sum overflows int64", 100, cat(cframe(false, OpBinary, strings.Repeat("x", 50)),
			big(false, OpContinuation, 1<<63-1)), nil, ErrMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tt.in), RoleServer)
			r.MaxMessage = tt.limit
			evs, err := readEvents(r, make([]byte, 7))
			if err != tt.err {
				t.Fatalf("got error %v, want %v", err, tt.err)
			}
			if d := diffEvents(evs, tt.events); d != "" {
				t.Error(d)
			}
		})
	}
}

// With no limit, lengths that add up past int64 do not make a later frame
// look too big.
func TestReaderNoLimitHugeSum(t *testing.T) {
	var in []byte
	for range 3 {
		b := make([]byte, MaxHeaderLen)
		in = append(in, b[:PutHeader(b, Header{Op: OpContinuation, Masked: true, Length: 1 << 62})]...)
	}
	in[0] |= byte(OpBinary) // first frame opens the message
	r := NewReader(bytes.NewReader(in), RoleServer)
	for i := range 3 {
		if _, err := r.NextFrame(); err != nil {
			t.Fatalf("frame %d: got %v, want no error", i, err)
		}
		r.left = 0 // skip the (absent) payload
	}
}
