package deflate

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"wsbridge/frames"
)

// payloads returns messages of one kind at the given size.
func payload(kind string, n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	switch kind {
	case "random":
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	case "text": // UTF-8 with multi-byte code points, cut at a rune boundary
		s := strings.Repeat("wsbridge é€😀 deflate ", n/20+1)
		b = []byte(strings.ToValidUTF8(s[:n], ""))
	default: // compressible binary: runs with some noise
		for i := range b {
			b[i] = byte(i / 64)
			if rng.IntN(16) == 0 {
				b[i] = byte(rng.Uint32())
			}
		}
	}
	return b
}

// Messages of many sizes and kinds come back whole through Writer and
// Reader, with every combination of context takeover and window size, as
// whole messages and as fragments, read in small and large chunks.
func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 16, 125, 1000, 32 << 10, 64<<10 + 3, 200 << 10}
	if raceEnabled {
		sizes = sizes[:len(sizes)-1]
	}
	params := []Params{
		{},
		{ServerNoContextTakeover: true, ClientNoContextTakeover: true},
		{ClientMaxWindowBits: 8},
		{ClientMaxWindowBits: 9, ClientNoContextTakeover: true},
		{ClientMaxWindowBits: 12},
	}
	for _, p := range params {
		for _, kind := range []string{"text", "random", "runs"} {
			for _, frag := range []int{0, 1000} {
				name := fmt.Sprintf("%+v/%s/frag%d", p, kind, frag)
				t.Run(name, func(t *testing.T) {
					e := newExt(t, Options{})
					pp := newPipe(e, p)
					op := frames.OpBinary
					if kind == "text" {
						op = frames.OpText
					}
					var want []event
					for i, n := range sizes {
						for k := range 2 { // twice: the second may refer to the first
							msg := payload(kind, n, uint64(i))
							if k == 1 && n > 0 {
								msg[0] ^= 1 // not quite the same
								msg = []byte(strings.ToValidUTF8(string(msg), "x"))
							}
							want = append(want, event{op, string(msg)})
							if err := writeMsg(pp.w, op, msg, frag); err != nil {
								t.Fatal(err)
							}
						}
					}
					for _, chunk := range []int{7, 64 << 10} {
						r := pp.reader(e, p, 0)
						got, err := readEvents(r, chunk)
						if err != nil {
							t.Fatalf("chunk %d: %v", chunk, err)
						}
						if d := diffEvents(got, want); d != "" {
							t.Fatalf("chunk %d: %s", chunk, d)
						}
						r.Release()
					}
				})
			}
		}
	}
}

// writeMsg writes msg whole (frag 0) or in fragments of frag bytes.
func writeMsg(w *Writer, op frames.Opcode, msg []byte, frag int) error {
	if frag == 0 {
		return w.WriteMessage(op, msg)
	}
	for {
		n := min(frag, len(msg))
		fin := n == len(msg)
		if err := w.WriteFragment(op, msg[:n], fin); err != nil {
			return err
		}
		if fin {
			return nil
		}
		msg = msg[n:]
	}
}

// The Writer's frames: RSV1 on the first frame of a compressed message
// only, payloads within MaxFrame, uncompressed messages under Threshold.
func TestWriterFrames(t *testing.T) {
	e := newExt(t, Options{Threshold: 10})
	var buf bytes.Buffer
	fw := frames.NewWriter(&buf, frames.RoleServer)
	fw.MaxFrame = 100
	w := e.NewWriter(fw, frames.RoleServer, Params{})
	big := payload("random", 1000, 1)
	if err := w.WriteMessage(frames.OpBinary, big); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMessage(frames.OpText, []byte("tiny")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFragment(frames.OpText, []byte(strings.Repeat("abc", 50)), false); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteControl(frames.OpPing, []byte("between")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFragment(frames.OpContinuation, []byte("def"), true); err != nil {
		t.Fatal(err)
	}
	fr := frames.NewReader(bytes.NewReader(buf.Bytes()), frames.RoleClient)
	fr.AllowedRsv = frames.Rsv1
	type fh struct {
		op  frames.Opcode
		rsv byte
		fin bool
	}
	var got []fh
	for {
		h, err := fr.NextFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Length > 100 {
			t.Errorf("frame of %d bytes, MaxFrame 100", h.Length)
		}
		if len(got) > 0 && got[len(got)-1] == (fh{h.Op, h.Rsv, h.Fin}) && h.Op == frames.OpContinuation && !h.Fin {
			continue // the middle of the 1000 random bytes
		}
		got = append(got, fh{h.Op, h.Rsv, h.Fin})
	}
	want := []fh{
		{frames.OpBinary, frames.Rsv1, false}, {frames.OpContinuation, 0, false}, {frames.OpContinuation, 0, true},
		{frames.OpText, 0, true},
		{frames.OpText, frames.Rsv1, false},
		{frames.OpPing, 0, true},
		{frames.OpContinuation, 0, true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got frames %v\nwant %v", got, want)
	}
	if err := w.WriteFragment(frames.OpPing, nil, true); err != errNotData {
		t.Errorf("ping as a fragment: got %v, want %v", err, errNotData)
	}
}

// A server-role Writer's output reads back in a client-role Reader.
func TestClientRole(t *testing.T) {
	e := newExt(t, Options{})
	p := Params{ServerMaxWindowBits: 10}
	var buf bytes.Buffer
	w := e.NewWriter(frames.NewWriter(&buf, frames.RoleServer), frames.RoleServer, p)
	msgs := []string{"hello hello hello", strings.Repeat("x", 5000), "hello hello hello"}
	for _, m := range msgs {
		if err := w.WriteMessage(frames.OpText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	r := e.NewReader(frames.NewReader(bufio.NewReader(&buf), frames.RoleClient), frames.RoleClient, p)
	got, err := readEvents(r, 100)
	if err != nil {
		t.Fatal(err)
	}
	var want []event
	for _, m := range msgs {
		want = append(want, event{frames.OpText, m})
	}
	if d := diffEvents(got, want); d != "" {
		t.Error(d)
	}
}

// Messages under Threshold go uncompressed between compressed ones that
// share a window: both ends leave the window to the compressed ones.
func TestThresholdWithTakeover(t *testing.T) {
	e := newExt(t, Options{Threshold: 100})
	pp := newPipe(e, Params{})
	var want []event
	for i := range 20 {
		msg := []byte(strings.Repeat(fmt.Sprintf("message %d ", i%3), 1+i%2*50))
		want = append(want, event{frames.OpText, string(msg)})
		if err := pp.w.WriteMessage(frames.OpText, msg); err != nil {
			t.Fatal(err)
		}
	}
	got, err := readEvents(pp.reader(e, Params{}, 0), 64)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffEvents(got, want); d != "" {
		t.Error(d)
	}
}

// NextFrame skips what is left of a compressed message, read or not.
func TestReaderSkip(t *testing.T) {
	e := newExt(t, Options{})
	pp := newPipe(e, Params{})
	pp.w.WriteMessage(frames.OpBinary, payload("runs", 100000, 1))
	pp.w.WriteMessage(frames.OpText, []byte("second"))
	pp.w.WriteFragment(frames.OpBinary, payload("runs", 5000, 2), false)
	pp.w.WriteControl(frames.OpPing, []byte("p"))
	pp.w.WriteFragment(frames.OpBinary, []byte("end"), true)
	pp.w.WriteMessage(frames.OpText, []byte("last"))
	r := pp.reader(e, Params{}, 0)
	var got []string
	for {
		h, err := r.NextFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Op == frames.OpText {
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(b))
		} else {
			got = append(got, h.Op.String())
		}
	}
	want := "[binary second binary ping continuation last]"
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A Writer refuses a whole message while a fragmented one is open, and a
// released Writer or Reader refuses to work.
func TestMisuse(t *testing.T) {
	e := newExt(t, Options{})
	pp := newPipe(e, Params{})
	if err := pp.w.WriteFragment(frames.OpText, []byte("a"), false); err != nil {
		t.Fatal(err)
	}
	if err := pp.w.WriteMessage(frames.OpText, []byte("b")); err != errMessageOpen {
		t.Errorf("got %v, want %v", err, errMessageOpen)
	}
	if err := pp.w.WriteFragment(frames.OpPing, nil, true); err != errNotData {
		t.Errorf("got %v, want %v", err, errNotData)
	}
	pp.w.Release()
	if err := pp.w.WriteMessage(frames.OpText, []byte("b")); err != errReleased {
		t.Errorf("after Release: got %v, want %v", err, errReleased)
	}
	r := pp.reader(e, Params{}, 0)
	r.Release()
	if _, err := r.NextFrame(); err != errReleased {
		t.Errorf("after Release: got %v, want %v", err, errReleased)
	}
}
