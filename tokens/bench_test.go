package tokens

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkTokenFileLookup looks tokens up in a 10 000-token file: a lookup
// must be a map read, with no parse and no allocation.
func BenchmarkTokenFileLookup(b *testing.B) {
	const n = 10000
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "token-%05d: 10.0.%d.%d:%d\n", i, i/256%256, i%256, 5900+i%100)
	}
	p := writeFile(b, b.TempDir(), "tokens", sb.String())
	lf, _ := testLog(b)
	s, err := New("TokenFile", p, Options{LoggerFactory: lf})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	toks := make([]string, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("token-%05d", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Lookup(ctx, toks[i%n]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenFileLookupMiss looks up an unknown token.
func BenchmarkTokenFileLookupMiss(b *testing.B) {
	p := writeFile(b, b.TempDir(), "tokens", "a: h:1\n")
	lf, _ := testLog(b)
	s, err := New("TokenFile", p, Options{LoggerFactory: lf})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Lookup(ctx, "nope"); err != ErrNotFound {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseTokenFile parses a 10 000-token file, the cost of one reload.
func BenchmarkParseTokenFile(b *testing.B) {
	var sb strings.Builder
	for i := range 10000 {
		fmt.Fprintf(&sb, "token-%05d: 10.0.%d.%d:5900\n", i, i/256%256, i%256)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		parseTokenFile("f", data)
	}
}
