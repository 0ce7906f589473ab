package deflate

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"io"
	"slices"
	"testing"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// TestAdaptive: with Options.Adaptive, a message that does not shrink is
// followed by a run of uncompressed ones as large as it, then twice, four
// times ... up to 1 MiB; a message that compresses again ends the
// back-off; every message still arrives byte-exact.
func TestAdaptive(t *testing.T) {
	e := newExt(t, Options{Adaptive: true, ServerNoContextTakeover: true, ClientNoContextTakeover: true})
	p, _, ok := e.Negotiate([]string{"permessage-deflate"})
	if !ok {
		t.Fatal("not agreed")
	}
	pp := newPipe(e, p)
	random := make([]byte, 8<<10)
	var sent [][]byte
	for range 200 {
		rand.Read(random)
		msg := bytes.Clone(random)
		sent = append(sent, msg)
		if err := pp.w.WriteMessage(frames.OpBinary, msg); err != nil {
			t.Fatal(err)
		}
	}
	vnc := testpeer.Framebuffer(64, 32) // 8 KiB that compresses
	for range 70 {
		sent = append(sent, vnc)
		pp.w.WriteMessage(frames.OpBinary, vnc)
	}

	fr := frames.NewReader(bufio.NewReader(bytes.NewReader(pp.buf.Bytes())), frames.RoleServer)
	r := e.NewReader(fr, frames.RoleServer, p)
	var compressed []bool
	for i := range sent {
		h, err := r.NextFrame()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, sent[i]) {
			t.Fatalf("message %d differs (%v)", i, err)
		}
		compressed = append(compressed, h.Rsv&frames.Rsv1 != 0)
	}
	// Random 8 KiB messages: compressed at 0, then after runs of 1, 2, 4
	// ... 64, then 128 (1 MiB) messages.
	var at []int
	for i, c := range compressed[:200] {
		if c {
			at = append(at, i)
		}
	}
	want := []int{0, 2, 5, 10, 19, 36, 69, 134}
	if !slices.Equal(at, want) {
		t.Errorf("random messages compressed at %v, want %v", at, want)
	}
	// Compressible data after the random ones waits out the run begun at
	// message 134 (128 messages, to 262), then the first try succeeds and
	// ends the back-off.
	for i, c := range compressed[200:] {
		if c != (200+i >= 263) {
			t.Fatalf("compressible message %d after the random ones: compressed %v, want %v", i, c, 200+i >= 263)
		}
	}
}
