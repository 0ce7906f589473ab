//go:build !purego

package frames

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// Both vector paths against the RFC's byte loop, whichever the CPU running
// the test would pick.
func TestMaskVectors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	key := [4]byte{0x9a, 0xbc, 0xde, 0xf0}
	k := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k) | uint64(k)<<32
	paths := []struct {
		name  string
		block int
		fn    func(*byte, int, uint64)
		ok    bool
	}{
		{"SSE2", 64, maskSSE2, true},
		{"AVX2", 128, maskAVX2, cpu.X86.HasAVX2},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			if !p.ok {
				t.Skipf("this CPU has no %s", p.name)
			}
			for _, n := range []int{p.block, 2 * p.block, 3 * p.block, 64 << 10} {
				for _, shift := range []int{0, 1, 3} {
					in := randomBytes(rng, n+shift+1)
					got := bytes.Clone(in)
					want := bytes.Clone(in)
					p.fn(&got[shift], n, k64)
					naiveMask(key, 0, want[shift:shift+n])
					if !bytes.Equal(got, want) {
						t.Fatalf("len %d shift %d: got % x, want % x", n, shift, head(got[shift:]), head(want[shift:]))
					}
				}
			}
		})
	}
}
