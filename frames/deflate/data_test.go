package deflate

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// framebuffer returns a w×h desktop as a VNC raw-encoding update sends it:
// 32-bit pixels, a flat wallpaper, a taskbar, windows with title bars and
// lines of text-like noise.
func framebuffer(w, h int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	px := make([]uint32, w*h)
	fill := func(x0, y0, x1, y1 int, c uint32) {
		for y := max(y0, 0); y < min(y1, h); y++ {
			for x := max(x0, 0); x < min(x1, w); x++ {
				px[y*w+x] = c
			}
		}
	}
	fill(0, 0, w, h, 0x003a6ea5)
	fill(0, h-32, w, h, 0x00202020)
	for range 6 {
		x0, y0 := rng.IntN(w/2), rng.IntN(h/2)
		x1, y1 := x0+200+rng.IntN(w/2), y0+150+rng.IntN(h/2)
		fill(x0, y0, x1, y1, 0x00f0f0f0)
		fill(x0, y0, x1, y0+24, 0x00305090)
		for ty := y0 + 30; ty+12 < min(y1, h); ty += 16 {
			end := min(x0+8+rng.IntN(x1-x0-20), w)
			for x := x0 + 8; x < end; x++ {
				if rng.IntN(7) == 0 { // a space between words
					x += 5
					continue
				}
				for y := ty; y < ty+11; y++ {
					if rng.IntN(3) == 0 {
						px[y*w+x] = 0x00101010
					}
				}
			}
		}
	}
	b := make([]byte, 4*len(px))
	for i, p := range px {
		binary.LittleEndian.PutUint32(b[4*i:], p)
	}
	return b
}

// terminal returns n bytes of log-like terminal output.
func terminal(n int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"tunnel:", "client", "connected", "target", "127.0.0.1:5900", "bytes", "closed", "INFO", "WARN", "session", "up", "down", "ms"}
	var b []byte
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, "2026-11-24 12:%02d:%02d.%03d ", i/60%60, i%60, rng.IntN(1000))
		for range 6 + rng.IntN(8) {
			b = append(b, words[rng.IntN(len(words))]...)
			b = append(b, ' ')
			if rng.IntN(4) == 0 {
				b = fmt.Appendf(b, "%d ", rng.IntN(100000))
			}
		}
		b = append(b, "\r\n"...)
	}
	return b[:n]
}

// corpus returns the three kinds of data the benchmarks use, 4 MiB each.
func corpus() []struct {
	name string
	data []byte
} {
	return []struct {
		name string
		data []byte
	}{
		{"random", payload("random", 4<<20, 9)},
		{"vnc", framebuffer(1280, 819)},
		{"terminal", terminal(4 << 20)},
	}
}
