package frames

import (
	"encoding/binary"
	"math/bits"
)

// Mask XORs b in place with the masking key, starting at position pos of
// the key stream (RFC 6455 §5.3), and returns the position after b. Masking
// and unmasking are the same operation; carrying pos across calls lets a
// payload be unmasked in pieces as it arrives.
//
// The work is done with the key rotated to pos: in vector registers where
// the CPU has them (mask_amd64.s), then eight bytes at a time, which is
// what makes unmasking cost little next to the copy itself.
func Mask(key [4]byte, pos int, b []byte) int {
	n := len(b)
	if n == 0 {
		return pos
	}
	k := binary.LittleEndian.Uint32(key[:])
	// Rotate so that byte 0 of b lines up with key byte pos&3.
	k = bits.RotateLeft32(k, -8*(pos&3))
	if n < 8 {
		for i := range b {
			b[i] ^= byte(k >> (8 * (i & 3)))
		}
		return pos + n
	}
	k64 := uint64(k) | uint64(k)<<32
	i := maskBlocks(b, k64) // a multiple of 64: the key stays aligned
	for ; i+32 <= n; i += 32 {
		p := b[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(p[0:], binary.LittleEndian.Uint64(p[0:])^k64)
		binary.LittleEndian.PutUint64(p[8:], binary.LittleEndian.Uint64(p[8:])^k64)
		binary.LittleEndian.PutUint64(p[16:], binary.LittleEndian.Uint64(p[16:])^k64)
		binary.LittleEndian.PutUint64(p[24:], binary.LittleEndian.Uint64(p[24:])^k64)
	}
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k64)
	}
	// i is a multiple of 8, hence of 4: the key is back at its rotated start.
	for ; i < n; i++ {
		b[i] ^= byte(k >> (8 * (i & 3)))
	}
	return pos + n
}
