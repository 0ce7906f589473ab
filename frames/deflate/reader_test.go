package deflate

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"wsbridge/frames"
)

// Protocol errors and their close codes: RSV1 where RFC 7692 §6.1 forbids
// it, data that does not inflate, text that is not UTF-8 once inflated.
func TestReaderErrors(t *testing.T) {
	e := newExt(t, Options{})
	hello := deflateRaw(t, []byte("Hello"))
	half := hello[:2]
	tests := []struct {
		name string
		wire []byte
		want error
		code frames.CloseCode
	}{
		{"RSV1 on a continuation", cat(frame(false, 0, frames.OpBinary, []byte("a")), frame(true, frames.Rsv1, frames.OpContinuation, hello)), ErrRsv1Continuation, 1002},
		{"RSV1 on a continuation of a compressed message", cat(frame(false, frames.Rsv1, frames.OpBinary, half), frame(true, frames.Rsv1, frames.OpContinuation, hello[2:])), ErrRsv1Continuation, 1002},
		{"RSV1 on a ping", frame(true, frames.Rsv1, frames.OpPing, nil), ErrRsv1Control, 1002},
		{"RSV1 on a ping inside a compressed message", cat(frame(false, frames.Rsv1, frames.OpBinary, half), frame(true, frames.Rsv1, frames.OpPing, nil)), ErrRsv1Control, 1002},
		{"RSV2", frame(true, frames.Rsv1|frames.Rsv2, frames.OpBinary, hello), frames.ErrReservedBits, 1002},
		{"not deflate", frame(true, frames.Rsv1, frames.OpBinary, []byte{0xff, 0xff, 0xff}), ErrCorrupt, 1007},
		{"stored block length mismatch", frame(true, frames.Rsv1, frames.OpBinary, []byte{0x00, 0x05, 0x00, 0x00, 0x00, 'H'}), ErrCorrupt, 1007},
		{"distance too far back", frame(true, frames.Rsv1, frames.OpBinary, unhex("f2 00 11 00 00")), ErrCorrupt, 1007},
		{"truncated mid-block", frame(true, frames.Rsv1, frames.OpBinary, deflateRaw(t, payload("random", 1000, 1))[:500]), ErrCorrupt, 1007},
		{"text not UTF-8", frame(true, frames.Rsv1, frames.OpText, deflateRaw(t, []byte("ok \xff"))), frames.ErrInvalidUTF8, 1007},
		{"text cut in a code point", frame(true, frames.Rsv1, frames.OpText, deflateRaw(t, []byte("ok \xe2\x82"))), frames.ErrInvalidUTF8, 1007},
		{"new message inside a compressed one", cat(frame(false, frames.Rsv1, frames.OpBinary, half), frame(true, 0, frames.OpBinary, nil)), frames.ErrUnfinishedMessage, 1002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readEvents(serverReader(e, Params{}, tt.wire, 0), 100)
			checkErr(t, err, tt.want, tt.code)
		})
	}
	// Without the extension, RSV1 is the frames.Reader's error.
	fr := frames.NewReader(bytes.NewReader(frame(true, frames.Rsv1, frames.OpBinary, hello)), frames.RoleServer)
	_, err := fr.NextFrame()
	checkErr(t, err, frames.ErrReservedBits, 1002)
}

// Compressed text whose compressed bytes are not UTF-8 is fine: only the
// inflated text is checked.
func TestReaderCompressedText(t *testing.T) {
	e := newExt(t, Options{})
	text := "é€😀 text that compresses, text that compresses"
	z := deflateRaw(t, []byte(text))
	if bytes.Equal(bytes.ToValidUTF8(z, nil), z) {
		t.Fatal("test needs compressed bytes that are not UTF-8")
	}
	got, err := readEvents(serverReader(e, Params{}, frame(true, frames.Rsv1, frames.OpText, z), 0), 5)
	if err != nil || len(got) != 1 || got[0].data != text {
		t.Errorf("got %v, %v", got, err)
	}
}

// Control frames between the frames of a compressed message come out at
// once when the sender flushed at the frame's end, and after the next
// frame when a frame boundary cuts a block (then only the latest ping).
func TestReaderControlBetweenFrames(t *testing.T) {
	e := newExt(t, Options{})
	// Flushed at each frame, as WriteFragment does.
	pp := newPipe(e, Params{})
	pp.w.WriteFragment(frames.OpText, []byte("one "), false)
	pp.w.WriteControl(frames.OpPing, []byte("p1"))
	pp.w.WriteFragment(frames.OpText, []byte("two"), true)
	r := pp.reader(e, Params{}, 0)
	h, err := r.NextFrame()
	if err != nil || h.Op != frames.OpText || h.Rsv != frames.Rsv1 || h.Length != -1 {
		t.Fatalf("got %+v, %v", h, err)
	}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "one " || r.MessageOp() != frames.OpText {
		t.Fatalf("first part: got %q, %v, op %v", b, err, r.MessageOp())
	}
	if h, err = r.NextFrame(); err != nil || h.Op != frames.OpPing || string(r.ControlPayload()) != "p1" {
		t.Fatalf("got %+v %q, %v, want the ping", h, r.ControlPayload(), err)
	}
	if h, err = r.NextFrame(); err != nil || h.Op != frames.OpContinuation {
		t.Fatalf("got %+v, %v, want the rest of the message", h, err)
	}
	if b, err = io.ReadAll(r); err != nil || string(b) != "two" || r.MessageOp() != 0 || !r.Header().Fin {
		t.Fatalf("second part: got %q, %v, op %v, %+v", b, err, r.MessageOp(), r.Header())
	}

	// A block cut in two: the controls wait, the latest ping wins.
	z := deflateRaw(t, []byte("cut in the middle of a block"))
	wire := cat(
		frame(false, frames.Rsv1, frames.OpBinary, z[:3]),
		frame(true, 0, frames.OpPing, []byte("p1")),
		frame(true, 0, frames.OpPong, []byte("pong")),
		frame(true, 0, frames.OpPing, []byte("p2")),
		frame(true, 0, frames.OpContinuation, z[3:]),
		frame(true, 0, frames.OpPing, []byte("after")),
	)
	got, err := readEvents(serverReader(e, Params{}, wire, 0), 4)
	want := []event{{frames.OpBinary, "cut in the middle of a block"}, {frames.OpPing, "p2"}, {frames.OpPing, "after"}}
	if err != nil {
		t.Fatal(err)
	}
	if d := diffEvents(got, want); d != "" {
		t.Error(d)
	}
}

// A Close inside a compressed message ends it: the Close comes out, and
// reading further fails.
func TestReaderCloseInsideMessage(t *testing.T) {
	e := newExt(t, Options{})
	z := deflateRaw(t, []byte("never finished"))
	for _, cut := range []int{0, 3} { // at a flushed boundary, inside a block
		wire := cat(frame(false, frames.Rsv1, frames.OpBinary, z[:cut]), frame(true, 0, frames.OpClose, []byte{0x03, 0xe8}))
		r := serverReader(e, Params{}, wire, 0)
		if _, err := r.NextFrame(); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(r); err != nil {
			t.Fatal(err)
		}
		h, err := r.NextFrame()
		if err != nil || h.Op != frames.OpClose {
			t.Fatalf("cut %d: got %+v, %v, want the Close", cut, h, err)
		}
		if code, _, _ := frames.ParseClose(r.ControlPayload()); code != frames.CloseNormal {
			t.Errorf("cut %d: got close code %v", cut, code)
		}
		if _, err := r.NextFrame(); err != errAfterClose {
			t.Errorf("cut %d: after the Close got %v, want %v", cut, err, errAfterClose)
		}
		r.Release()
	}
}

// bomb returns a compressed message payload that inflates to n MiB of
// zeros: one MiB compressed from scratch, then the same compressed MiB
// repeated (it refers only to zeros before it, so it can be).
func bomb(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	c, _ := New(Options{})
	cz := c.compressor(MaxWindowBits)
	cz.zw.Reset(&buf)
	zeros := make([]byte, 1<<20)
	cz.zw.Write(zeros)
	cz.zw.Flush()
	first := buf.Len()
	cz.zw.Write(zeros)
	cz.zw.Flush()
	again := bytes.Clone(buf.Bytes()[first:])
	out := bytes.Clone(buf.Bytes()[:first])
	for range n - 1 {
		out = append(out, again...)
	}
	return out[:len(out)-4]
}

// A bomb (about 1 KiB per inflated MiB) fails with 1009 at the limit, and
// memory stays flat: what is allocated does not grow with what is
// inflated. Frames are 16 KiB so that the limit on the wire (the same
// MaxMessage) does not catch it first.
func TestReaderBomb(t *testing.T) {
	size, limit := 1024, int64(64<<20) // 1 GiB, 64 MiB
	if raceEnabled {
		limit = 8 << 20
	}
	z := bomb(t, size)
	t.Logf("bomb: %d bytes inflate to %d MiB", len(z), size)
	var wire []byte
	for i := 0; i < len(z); i += 16 << 10 {
		op, rsv := frames.OpContinuation, byte(0)
		if i == 0 {
			op, rsv = frames.OpBinary, frames.Rsv1
		}
		end := min(i+16<<10, len(z))
		wire = append(wire, frame(end == len(z), rsv, op, z[i:end])...)
	}
	e := newExt(t, Options{})
	for _, p := range []Params{{}, {ClientNoContextTakeover: true}} {
		r := serverReader(e, p, wire, limit)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h, err := r.NextFrame()
		if err != nil || h.Rsv != frames.Rsv1 {
			t.Fatalf("got %+v, %v", h, err)
		}
		n, err := io.Copy(io.Discard, r)
		runtime.ReadMemStats(&after)
		checkErr(t, err, frames.ErrMessageTooBig, frames.CloseMessageTooBig)
		if n > limit {
			t.Errorf("read %d bytes, limit %d", n, limit)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%+v: %d MiB inflated, %d KiB allocated", p, n>>20, alloc>>10)
		if alloc > 1<<20 {
			t.Errorf("%+v: allocated %d KiB inflating %d MiB, want it flat (< 1 MiB)", p, alloc>>10, n>>20)
		}
		r.Release()
	}
}

// Without a limit the whole bomb inflates, still in flat memory.
func TestReaderUnlimited(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("inflates 256 MiB")
	}
	e := newExt(t, Options{})
	z := bomb(t, 256)
	r := serverReader(e, Params{}, frame(true, frames.Rsv1, frames.OpBinary, z), 0)
	if _, err := r.NextFrame(); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := io.Copy(io.Discard, r)
	runtime.ReadMemStats(&after)
	if err != nil || n != 256<<20 {
		t.Fatalf("got %d bytes, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d KiB", alloc>>10)
	}
}

// An inflater is taken for a message and given back at its end: reading
// many messages allocates nothing once the pool is warm.
func TestReaderAllocs(t *testing.T) {
	e := newExt(t, Options{})
	z := deflateRaw(t, bytes.Repeat([]byte("abc"), 1000))
	wire := frame(true, frames.Rsv1, frames.OpBinary, z)
	src := bytes.NewReader(wire)
	fr := frames.NewReader(src, frames.RoleServer)
	r := e.NewReader(fr, frames.RoleServer, Params{ClientNoContextTakeover: true})
	buf := make([]byte, 4096)
	read := func() {
		src.Reset(wire)
		fr.Reset(src)
		if _, err := r.NextFrame(); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := r.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}
	read()
	if raceEnabled {
		return // sync.Pool drops items at random under the race detector
	}
	if a := testing.AllocsPerRun(100, read); a != 0 {
		t.Errorf("got %v allocs per message, want 0", a)
	}
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
