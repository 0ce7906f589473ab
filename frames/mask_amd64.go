//go:build !purego

package frames

import "golang.org/x/sys/cpu"

// maskAVX2 XORs n bytes at b with key repeated, 128 bytes a step; n is a
// positive multiple of 128. The CPU must have AVX2.
//
//go:noescape
func maskAVX2(b *byte, n int, key uint64)

// maskSSE2 XORs n bytes at b with key repeated, 64 bytes a step; n is a
// positive multiple of 64. Every amd64 CPU has SSE2.
//
//go:noescape
func maskSSE2(b *byte, n int, key uint64)

// maskBlocks XORs the longest prefix of b that the vector code takes with
// key (the masking key rotated to b's start, twice) and returns its
// length, a multiple of 64. Unmasking a 64 KiB read is the bridge's only
// work on each byte of the up path that the kernel does not do; the
// vectors take 64 KiB from about 10 GB/s (eight bytes a step) to about
// 40 (BenchmarkMask).
func maskBlocks(b []byte, key uint64) int {
	n := len(b)
	switch {
	case n >= 256 && cpu.X86.HasAVX2:
		n &^= 127
		maskAVX2(&b[0], n, key)
	case n >= 64:
		n &^= 63
		maskSSE2(&b[0], n, key)
	default:
		return 0
	}
	return n
}
