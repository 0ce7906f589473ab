package frames

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// naiveMask is RFC 6455 §5.3 written out: octet i of the payload is XORed
// with octet (i mod 4) of the key, i counted from the start of the payload.
func naiveMask(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)%4]
	}
	return pos + len(b)
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestMaskMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	key := [4]byte{0x01, 0x23, 0x45, 0x67}
	lengths := []int{}
	for n := 0; n <= 600; n++ { // every tail after the 64- and 128-byte vector blocks
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 255, 256, 257, 4095, 4096, 4097, 65536+13, 300007)
	for _, n := range lengths {
		in := randomBytes(rng, n)
		// pos beyond 3 checks that only pos mod 4 matters; a slice that
		// starts at an odd address checks unaligned access.
		for _, pos := range []int{0, 1, 2, 3, 4, 7, 1<<40 + 2} {
			for _, shift := range []int{0, 1} {
				got := append(make([]byte, shift), in...)[shift:]
				want := bytes.Clone(in)
				gotPos := Mask(key, pos, got)
				wantPos := naiveMask(key, pos, want)
				if gotPos != wantPos {
					t.Fatalf("len %d pos %d: got position %d, want %d", n, pos, gotPos, wantPos)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("len %d pos %d shift %d: got % x, want % x", n, pos, shift, head(got), head(want))
				}
			}
		}
	}
}

// Masking is its own inverse.
func TestMaskInvolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	in := randomBytes(rng, 1000)
	b := bytes.Clone(in)
	Mask(testKey, 3, b)
	if bytes.Equal(b, in) {
		t.Fatal("masking changed nothing")
	}
	Mask(testKey, 3, b)
	if !bytes.Equal(b, in) {
		t.Error("masking twice did not restore the input")
	}
}

// Masking in pieces, carrying the position, gives the same bytes as masking
// at once, wherever the payload is split: at every pair of split points for
// short payloads, at every first split point for longer ones.
func TestMaskResume(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 8, 9, 33, 100, 1000, 10007} {
		in := randomBytes(rng, n)
		want := bytes.Clone(in)
		Mask(testKey, 0, want)
		got := make([]byte, n)
		step := max(1, n/1000)
		for i := 0; i <= n; i += step {
			js := []int{i + rng.IntN(n-i+1)}
			if n <= 100 {
				js = js[:0]
				for j := i; j <= n; j++ {
					js = append(js, j)
				}
			}
			for _, j := range js {
				copy(got, in)
				pos := Mask(testKey, 0, got[:i])
				pos = Mask(testKey, pos, got[i:j])
				pos = Mask(testKey, pos, got[j:])
				if pos != n {
					t.Fatalf("len %d split %d,%d: got position %d, want %d", n, i, j, pos, n)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("len %d split %d,%d: got % x, want % x", n, i, j, head(got), head(want))
				}
			}
		}
	}
}

func TestMaskZeroKey(t *testing.T) {
	in := []byte("unchanged by a zero key, at any length and offset")
	got := bytes.Clone(in)
	Mask([4]byte{}, 1, got)
	if !bytes.Equal(got, in) {
		t.Errorf("got %q, want %q", got, in)
	}
}

// FuzzMask: Mask agrees with the RFC's byte loop for any payload, key,
// starting position and alignment, and the vector code touches no byte
// outside the slice.
func FuzzMask(f *testing.F) {
	f.Add([]byte("hello"), uint32(0x01234567), uint8(0), uint8(0), uint8(0))
	f.Add(make([]byte, 300), uint32(0xdeadbeef), uint8(3), uint8(5), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, k uint32, pos, off, tail uint8) {
		key := [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		lo := min(int(off%32), len(data))
		hi := max(len(data)-int(tail%32), lo)
		got := bytes.Clone(data)
		want := bytes.Clone(data)
		Mask(key, int(pos), got[lo:hi])
		naiveMask(key, int(pos), want[lo:hi])
		if !bytes.Equal(got, want) {
			t.Fatalf("bytes %d to %d of %d, pos %d: got % x, want % x", lo, hi, len(data), pos, head(got), head(want))
		}
	})
}
