package frames

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// utf8Cases follows Markus Kuhn's UTF-8 decoder stress test, as Autobahn's
// group 6 uses it (the case numbers are Autobahn's).
var utf8Cases = []struct {
	id    string
	name  string
	hex   string
	valid bool
}{
	{"6.2.1", "mixed", "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121", true},
	{"6.5.1", "kosme", "cebae1bdb9cf83cebcceb5", true},
	{"6.5.2", "cyrillic", "d0bfd180d0b8d0b2d0b5d182", true},
	{"6.5.3", "CJK", "e4bda0e5a5bd", true},
	{"6.5.4", "emoji", "f09f9880f09f8c8d", true},
	{"6.5.5", "kosme with ASCII", "cebae1bdb9cf83cebcceb5656469746564", true},
	{"6.3.1", "kosme, surrogate, ASCII", "cebae1bdb9cf83cebcceb5eda080656469746564", false},
	// First and last sequences of each length.
	{"6.7.1", "U+0000", "00", true},
	{"6.7.2", "U+0080", "c280", true},
	{"6.7.3", "U+0800", "e0a080", true},
	{"6.7.4", "U+10000", "f0908080", true},
	{"6.8.1", "5-byte start", "f888808080", false},
	{"6.8.2", "6-byte start", "fc8480808080", false},
	{"6.9.1", "U+007F", "7f", true},
	{"6.9.2", "U+07FF", "dfbf", true},
	{"6.9.3", "U+FFFF", "efbfbf", true},
	{"6.9.4", "U+10FFFF", "f48fbfbf", true},
	{"6.10.1", "U+1FFFFF", "f7bfbfbf", false},
	{"6.10.2", "5-byte end", "fbbfbfbfbf", false},
	{"6.10.3", "6-byte end", "fdbfbfbfbfbf", false},
	// Other boundaries.
	{"6.11.1", "U+D7FF", "ed9fbf", true},
	{"6.11.2", "U+E000", "ee8080", true},
	{"6.11.3", "U+FFFD", "efbfbd", true},
	{"6.11.4", "U+10FFFF", "f48fbfbf", true},
	{"6.11.5", "U+110000", "f4908080", false},
	// Unexpected continuation bytes.
	{"6.12.1", "80", "80", false},
	{"6.12.2", "bf", "bf", false},
	{"6.12.3", "80 bf", "80bf", false},
	{"6.12.4", "80 bf 80", "80bf80", false},
	{"6.12.5", "80 bf 80 bf", "80bf80bf", false},
	{"6.12.6", "80 bf 80 bf 80", "80bf80bf80", false},
	{"6.12.7", "80 bf 80 bf 80 bf", "80bf80bf80bf", false},
	{"6.12.8", "80..bf", hexRange(0x80, 0xbf, ""), false},
	// Lonely start bytes, each followed by a space.
	{"6.13.1", "c0..df", hexRange(0xc0, 0xdf, "20"), false},
	{"6.13.2", "e0..ef", hexRange(0xe0, 0xef, "20"), false},
	{"6.13.3", "f0..f7", hexRange(0xf0, 0xf7, "20"), false},
	{"6.13.4", "f8..fb", hexRange(0xf8, 0xfb, "20"), false},
	{"6.13.5", "fc..fd", hexRange(0xfc, 0xfd, "20"), false},
	// Sequences with the last continuation byte missing.
	{"6.14.1", "c0", "c0", false},
	{"6.14.2", "e0 80", "e080", false},
	{"6.14.3", "f0 80 80", "f08080", false},
	{"6.14.4", "f8 80 80 80", "f8808080", false},
	{"6.14.5", "fc 80 80 80 80", "fc80808080", false},
	{"6.14.6", "df", "df", false},
	{"6.14.7", "ef bf", "efbf", false},
	{"6.14.8", "f7 bf bf", "f7bfbf", false},
	{"6.14.9", "fb bf bf bf", "fbbfbfbf", false},
	{"6.14.10", "fd bf bf bf bf", "fdbfbfbfbf", false},
	{"6.14.11", "truncated U+0800", "e0a0", false},
	{"6.14.12", "truncated U+10000", "f09080", false},
	{"6.15.1", "all truncated, concatenated", "c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf", false},
	// Impossible bytes.
	{"6.16.1", "fe", "fe", false},
	{"6.16.2", "ff", "ff", false},
	{"6.16.3", "fe fe ff ff", "fefeffff", false},
	{"6.16.4", "f5", "f5808080", false},
	// Overlong "/".
	{"6.17.1", "overlong / (2)", "c0af", false},
	{"6.17.2", "overlong / (3)", "e080af", false},
	{"6.17.3", "overlong / (4)", "f08080af", false},
	{"6.17.4", "overlong / (5)", "f8808080af", false},
	{"6.17.5", "overlong / (6)", "fc80808080af", false},
	// Largest overlongs.
	{"6.18.1", "c1 bf", "c1bf", false},
	{"6.18.2", "e0 9f bf", "e09fbf", false},
	{"6.18.3", "f0 8f bf bf", "f08fbfbf", false},
	{"6.18.4", "f8 87 bf bf bf", "f887bfbfbf", false},
	{"6.18.5", "fc 83 bf bf bf bf", "fc83bfbfbfbf", false},
	// Overlong NUL.
	{"6.19.1", "c0 80", "c080", false},
	{"6.19.2", "e0 80 80", "e08080", false},
	{"6.19.3", "f0 80 80 80", "f0808080", false},
	{"6.19.4", "f8 80 80 80 80", "f880808080", false},
	{"6.19.5", "fc 80 80 80 80 80", "fc8080808080", false},
	// Single UTF-16 surrogates.
	{"6.20.1", "U+D800", "eda080", false},
	{"6.20.2", "U+DB7F", "edadbf", false},
	{"6.20.3", "U+DB80", "edae80", false},
	{"6.20.4", "U+DBFF", "edafbf", false},
	{"6.20.5", "U+DC00", "edb080", false},
	{"6.20.6", "U+DF80", "edbe80", false},
	{"6.20.7", "U+DFFF", "edbfbf", false},
	// Paired UTF-16 surrogates.
	{"6.21.1", "U+D800 U+DC00", "eda080edb080", false},
	{"6.21.2", "U+D800 U+DFFF", "eda080edbfbf", false},
	{"6.21.3", "U+DB7F U+DC00", "edadbfedb080", false},
	{"6.21.4", "U+DB7F U+DFFF", "edadbfedbfbf", false},
	{"6.21.5", "U+DB80 U+DC00", "edae80edb080", false},
	{"6.21.6", "U+DB80 U+DFFF", "edae80edbfbf", false},
	{"6.21.7", "U+DBFF U+DC00", "edafbfedb080", false},
	{"6.21.8", "U+DBFF U+DFFF", "edafbfedbfbf", false},
	// Noncharacters are valid UTF-8.
	{"6.22.1", "U+FFFE", "efbfbe", true},
	{"6.22.2", "U+FFFF", "efbfbf", true},
	{"6.22.3", "U+1FFFE", "f09fbfbe", true},
	{"6.22.4", "U+10FFFE", "f48fbfbe", true},
	{"6.22.5", "U+FDD0", "efb790", true},
	{"6.23.1", "U+FFF9", "efbfb9", true},
	{"6.23.2", "U+FEFF", "efbbbf", true},
	{"6.23.3", "U+FFFD", "efbfbd", true},
}

// hexRange is the hex of bytes lo..hi, each followed by sep.
func hexRange(lo, hi int, sep string) string {
	var b strings.Builder
	for c := lo; c <= hi; c++ {
		fmt.Fprintf(&b, "%02x%s", c, sep)
	}
	return b.String()
}

// feedAll runs s over p in pieces cut at splits and returns what the
// validator decided: the index of the first invalid byte or -1, and
// whether it ended on a code point boundary.
func feedAll(p []byte, splits ...int) (int, bool) {
	var s utf8State
	start := 0
	for _, end := range append(splits, len(p)) {
		if i := s.feed(p[start:end]); i >= 0 {
			return start + i, false
		}
		start = end
	}
	return -1, s.complete()
}

func TestUTF8Kuhn(t *testing.T) {
	for _, tt := range utf8Cases {
		t.Run(tt.id+" "+tt.name, func(t *testing.T) {
			p := []byte(unhex(tt.hex))
			if utf8.Valid(p) != tt.valid {
				t.Fatalf("table: utf8.Valid says %v", !tt.valid)
			}
			wantFail := failIndex(p)
			// Every split point, and one byte at a time.
			for cut := 0; cut <= len(p); cut++ {
				i, complete := feedAll(p, cut)
				if i != wantFail {
					t.Fatalf("split at %d: got first invalid byte %d, want %d", cut, i, wantFail)
				}
				if got := i < 0 && complete; got != tt.valid {
					t.Fatalf("split at %d: got valid %v, want %v", cut, got, tt.valid)
				}
			}
			ones := make([]int, len(p))
			for k := range ones {
				ones[k] = k
			}
			if i, complete := feedAll(p, ones...); (i < 0 && complete) != tt.valid || i != wantFail {
				t.Errorf("byte by byte: got %d, %v, want %d, %v", i, complete, wantFail, tt.valid)
			}
		})
	}
}

// The fail-fast index is the first byte that no valid text can have there.
func TestUTF8FailFastIndex(t *testing.T) {
	tests := []struct {
		hex  string
		want int
	}{
		{"cebae1bdb9cf83cebcceb5eda080656469746564", 12},   // a0 after ed
		{"cebae1bdb9cf83cebcceb5f4908080656469746564", 12}, // 90 after f4
		{"c0af", 0},
		{"e080af", 1},
		{"f08080af", 1},
		{"f5", 0},
		{"41424380", 3},
		{"e0a0", -1}, // truncated, not (yet) invalid
		{"e0a041", 2},
		{"4142434445464748494a4b4c4d4e4fff", 15}, // after the ASCII fast path
	}
	for _, tt := range tests {
		p := []byte(unhex(tt.hex))
		if ref := failIndex(p); ref != tt.want {
			t.Fatalf("%s: reference says %d, table %d", tt.hex, ref, tt.want)
		}
		var s utf8State
		if got := s.feed(p); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.hex, got, tt.want)
		}
	}
}

// Random inputs, mostly valid text with a few bytes changed, split at every
// position: the incremental validator agrees with unicode/utf8.Valid and
// fails at the reference index.
func TestUTF8Random(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", "Z", " ", "µ", "ß", "κ", "€", "中", "\U0001F600", "\U0010FFFF", "\u0800", "\uFFFD"}
	for iter := range 3000 {
		var b []byte
		for range rng.IntN(12) {
			b = append(b, alphabet[rng.IntN(len(alphabet))]...)
		}
		if iter%2 == 1 && len(b) > 0 {
			for range 1 + rng.IntN(2) {
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			}
		}
		if iter%7 == 0 {
			b = randomBytes(rng, rng.IntN(10))
		}
		want := utf8.Valid(b)
		wantFail := failIndex(b)
		for cut := 0; cut <= len(b); cut++ {
			i, complete := feedAll(b, cut)
			if got := i < 0 && complete; got != want || i != wantFail {
				t.Fatalf("% x split at %d: got %d, %v, want %d, %v", b, cut, i, got, wantFail, want)
			}
		}
	}
}

// Long text with one bad byte: the bulk check fails and the byte-by-byte
// pass must still find the exact index, wherever the input is split.
func TestUTF8LongInvalid(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{100, 1000, 5000} {
		for range 5 {
			p := textOf(n)
			p[rng.IntN(n)] = []byte{0x80, 0xC0, 0xF5, 0xFF, 0xED}[rng.IntN(5)]
			want := failIndex(p)
			for cut := 0; cut <= n; cut += 1 + n/200 {
				if got, _ := feedAll(p, cut); got != want {
					t.Fatalf("len %d split at %d: got first invalid byte %d, want %d", n, cut, got, want)
				}
			}
		}
	}
}

func TestUTF8Reset(t *testing.T) {
	var s utf8State
	s.feed([]byte{0xe2, 0x82})
	if s.complete() {
		t.Fatal("got complete inside a code point, want incomplete")
	}
	s.reset()
	if !s.complete() || s.feed([]byte{'a'}) != -1 {
		t.Error("reset did not return to the initial state")
	}
}
