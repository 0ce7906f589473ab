package deflate

import "wsbridge/internal/testpeer"

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
		{"vnc", testpeer.Framebuffer(1280, 819)},
		{"terminal", testpeer.Terminal(4 << 20)},
	}
}
