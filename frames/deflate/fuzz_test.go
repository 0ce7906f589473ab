package deflate

import (
	"errors"
	"io"
	"testing"

	"wsbridge/frames"
)

// FuzzReader: any payload, as one or two frames of a compressed message
// with or without context takeover, either inflates or fails with an error
// carrying a close code; it never panics or inflates past the limit.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"f2 48 cd c9 c9 07 00", "00 05 00 fa ff 48 65 6c 6c 6f 00", "f3 48 cd c9 c9 07 00 00",
		"f2 48 05 00 00 00 ff ff ca c9 c9 07 00", "00", "", "f2 00 11 00 00", "ff ff ff",
	} {
		f.Add(unhex(s), uint8(3), true)
	}
	e := newExt(f, Options{})
	f.Fuzz(func(t *testing.T, z []byte, cut uint8, text bool) {
		op := frames.OpBinary
		if text {
			op = frames.OpText
		}
		c := min(int(cut), len(z))
		wire := cat(frame(false, frames.Rsv1, op, z[:c]), frame(true, 0, frames.OpPing, []byte("p")), frame(true, 0, frames.OpContinuation, z[c:]))
		for _, p := range []Params{{}, {ClientNoContextTakeover: true, ClientMaxWindowBits: 8}} {
			r := serverReader(e, p, cat(wire, wire), 1<<16)
			for {
				_, err := r.NextFrame()
				if err == io.EOF {
					break
				}
				if err != nil {
					if frames.CloseCodeOf(err) == 0 && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("error without a close code: %v", err)
					}
					break
				}
				n, err := io.Copy(io.Discard, r)
				if n > 1<<16 {
					t.Fatalf("inflated %d bytes, limit %d", n, 1<<16)
				}
				if err != nil {
					if frames.CloseCodeOf(err) == 0 {
						t.Fatalf("error without a close code: %v", err)
					}
					break
				}
			}
			r.Release()
		}
	})
}
