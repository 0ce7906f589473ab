package frames

import (
	"fmt"
	"io"
	"testing"
)

var benchSizes = []int{64, 4 << 10, 64 << 10, 1 << 20}

// loopReader replays the same frames forever, without allocating: the
// reading benchmarks measure the codec, not the source.
type loopReader struct {
	buf []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.off == len(l.buf) {
		l.off = 0
	}
	n := copy(p, l.buf[l.off:])
	l.off += n
	return n, nil
}

// benchRead reads frames of n bytes (parse, unmask and, for text, UTF-8
// check) into a 32 KiB buffer.
func benchRead(b *testing.B, op Opcode, payload []byte) {
	var frames []byte
	for len(frames) < 64<<10 || len(frames) == 0 { // several small frames per loop
		frames = append(frames, encode(Header{Fin: true, Op: op, Masked: true, Mask: testKey}, payload)...)
	}
	src := &loopReader{buf: frames}
	r := NewReader(src, RoleServer)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.NextFrame(); err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkRead(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("binary/%s", sizeName(n)), func(b *testing.B) { benchRead(b, OpBinary, pattern(n)) })
	}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("text/%s", sizeName(n)), func(b *testing.B) { benchRead(b, OpText, textOf(n)) })
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, role := range []Role{RoleServer, RoleClient} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%v/%s", role, sizeName(n)), func(b *testing.B) {
				w := NewWriter(io.Discard, role)
				p := pattern(n)
				_ = w.WriteMessage(OpBinary, p) // the client's masking buffer is made once
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if err := w.WriteMessage(OpBinary, p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkWriteFrameInPlace is the bridge's target-to-client path.
func BenchmarkWriteFrameInPlace(b *testing.B) {
	for _, role := range []Role{RoleServer, RoleClient} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%v/%s", role, sizeName(n)), func(b *testing.B) {
				w := NewWriter(io.Discard, role)
				buf := make([]byte, MaxHeaderLen+n)
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					if err := w.WriteFrameInPlace(OpBinary, true, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkMask(b *testing.B) {
	for _, n := range []int{7, 64, 4 << 10, 64 << 10, 1 << 20} {
		for _, pos := range []int{0, 1} {
			b.Run(fmt.Sprintf("%s/pos=%d", sizeName(n), pos), func(b *testing.B) {
				p := pattern(n + pos)[pos:] // pos 1: unaligned
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for b.Loop() {
					Mask(testKey, pos, p)
				}
			})
		}
	}
}

func BenchmarkUTF8(b *testing.B) {
	ascii := make([]byte, 64<<10)
	for i := range ascii {
		ascii[i] = 'a' + byte(i%26)
	}
	inputs := []struct {
		name string
		p    []byte
	}{
		{"ascii", ascii},
		{"mixed", textOf(64 << 10)}, // a third ASCII, the rest 2, 3 and 4 bytes
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.p)))
			b.ReportAllocs()
			for b.Loop() {
				var s utf8State
				if s.feed(in.p) >= 0 || !s.complete() {
					b.Fatal("valid input refused")
				}
			}
		})
	}
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
