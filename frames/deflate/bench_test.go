package deflate

import (
	"bufio"
	"bytes"
	sflate "compress/flate"
	"fmt"
	"io"
	"runtime"
	"testing"

	kflate "github.com/klauspost/compress/flate"

	"wsbridge/frames"
)

// benchMsg is the message size of the benchmarks: what the bridge reads
// from a target at once and sends as one message.
const benchMsg = 64 << 10

// flateWriter is what both libraries' writers offer.
type flateWriter interface {
	io.Writer
	Flush() error
	Reset(io.Writer)
}

// BenchmarkLibraries compares compress/flate and klauspost/compress/flate
// on 64 KiB messages of random data, a VNC framebuffer and terminal text,
// with context takeover (one stream, flushed per message) and without (a
// reset per message). ratio is input over output.
//
//	go test -run x -bench Libraries -benchtime 20x ./frames/deflate/
func BenchmarkLibraries(b *testing.B) {
	libs := []struct {
		name string
		new  func(level int) flateWriter
	}{
		{"stdlib", func(l int) flateWriter { w, _ := sflate.NewWriter(io.Discard, l); return w }},
		{"klauspost", func(l int) flateWriter { w, _ := kflate.NewWriter(io.Discard, l); return w }},
	}
	for _, c := range corpus() {
		for _, lib := range libs {
			for _, level := range []int{1, 2, 5, 6} {
				for _, takeover := range []bool{true, false} {
					name := fmt.Sprintf("compress/%s/%s/L%d/takeover=%v", c.name, lib.name, level, takeover)
					b.Run(name, func(b *testing.B) {
						benchCompress(b, lib.new(level), c.data, takeover)
					})
				}
			}
		}
		var z bytes.Buffer
		zw, _ := kflate.NewWriter(&z, DefaultLevel)
		zw.Write(c.data)
		zw.Close()
		readers := []struct {
			name string
			r    io.Reader
		}{
			{"stdlib", sflate.NewReader(nil)},
			{"klauspost", kflate.NewReader(nil)},
		}
		for _, rd := range readers {
			b.Run(fmt.Sprintf("inflate/%s/%s", c.name, rd.name), func(b *testing.B) {
				buf := make([]byte, 32<<10)
				b.SetBytes(int64(len(c.data)))
				b.ReportAllocs()
				for b.Loop() {
					rd.r.(sflate.Resetter).Reset(bytes.NewReader(z.Bytes()), nil)
					if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rd.r}, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func benchCompress(b *testing.B, w flateWriter, data []byte, takeover bool) {
	var out bytes.Buffer
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		w.Reset(&out)
		for off := 0; off < len(data); off += benchMsg {
			if !takeover {
				w.Reset(&out)
			}
			w.Write(data[off:min(off+benchMsg, len(data))])
			w.Flush()
		}
	}
	b.ReportMetric(float64(len(data))/float64(out.Len()), "ratio")
}

// BenchmarkWriter is the cost of sending 64 KiB messages through a Writer
// in the server role: MB/s of input, and wire/in the bytes on the wire
// (headers included) per byte of input.
//
//	go test -run x -bench 'Writer|Reader' ./frames/deflate/
func BenchmarkWriter(b *testing.B) {
	for _, c := range corpus() {
		for _, p := range []Params{{}, {ServerNoContextTakeover: true}} {
			b.Run(fmt.Sprintf("%s/%v", c.name, p), func(b *testing.B) {
				e := newExt(b, Options{})
				var wire countWriter
				w := e.NewWriter(frames.NewWriter(&wire, frames.RoleServer), frames.RoleServer, p)
				b.SetBytes(int64(len(c.data)))
				b.ReportAllocs()
				for b.Loop() {
					for off := 0; off < len(c.data); off += benchMsg {
						if err := w.WriteMessage(frames.OpBinary, c.data[off:min(off+benchMsg, len(c.data))]); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(wire)/float64(b.N)/float64(len(c.data)), "wire/in")
			})
		}
	}
}

// BenchmarkReader is the cost of reading them back in the client role:
// MB/s of inflated output.
func BenchmarkReader(b *testing.B) {
	for _, c := range corpus() {
		for _, p := range []Params{{}, {ServerNoContextTakeover: true}} {
			b.Run(fmt.Sprintf("%s/%v", c.name, p), func(b *testing.B) {
				e := newExt(b, Options{})
				var wire bytes.Buffer
				w := e.NewWriter(frames.NewWriter(&wire, frames.RoleServer), frames.RoleServer, p)
				for off := 0; off < len(c.data); off += benchMsg {
					w.WriteMessage(frames.OpBinary, c.data[off:min(off+benchMsg, len(c.data))])
				}
				src := bytes.NewReader(wire.Bytes())
				br := bufio.NewReader(src)
				fr := frames.NewReader(br, frames.RoleClient)
				buf := make([]byte, 32<<10)
				b.SetBytes(int64(len(c.data)))
				b.ReportAllocs()
				for b.Loop() {
					src.Reset(wire.Bytes())
					br.Reset(src)
					fr.Reset(br)
					r := e.NewReader(fr, frames.RoleClient, p)
					for {
						if _, err := r.NextFrame(); err == io.EOF {
							break
						} else if err != nil {
							b.Fatal(err)
						}
						for {
							if _, err := r.Read(buf); err == io.EOF {
								break
							} else if err != nil {
								b.Fatal(err)
							}
						}
					}
				}
			})
		}
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// TestConnMemory measures what a connection holds between messages, per
// direction, with and without context takeover: the heap held by 50
// Writers (or Readers) after each sent (or read) one 64 KiB message, the
// frames.Writer (or frames.Reader) under it included.
//
//	go test -run ConnMemory -v ./frames/deflate/
func TestConnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about 60 MiB")
	}
	const conns = 50
	msg := framebuffer(128, 128) // 64 KiB
	tests := []struct {
		name   string
		p      Params
		writer bool
		max    int // KiB
	}{
		{"send, takeover", Params{}, true, 2048},
		{"send, no takeover", Params{ServerNoContextTakeover: true}, true, 4},
		{"send, takeover, window 2^10", Params{ServerMaxWindowBits: 10}, true, 2048},
		{"receive, takeover", Params{}, false, 40},
		{"receive, takeover, window 2^10", Params{ClientMaxWindowBits: 10}, false, 4},
		{"receive, no takeover", Params{ClientNoContextTakeover: true}, false, 4},
	}
	for _, tt := range tests {
		e := newExt(t, Options{})
		// What a client sends, for the receiving tests.
		pp := newPipe(e, tt.p)
		pp.w.WriteMessage(frames.OpBinary, msg)
		wire := pp.buf.Bytes()
		held := make([]any, conns)
		before := heap()
		for i := range held {
			if tt.writer {
				w := e.NewWriter(frames.NewWriter(io.Discard, frames.RoleServer), frames.RoleServer, tt.p)
				if err := w.WriteMessage(frames.OpBinary, msg); err != nil {
					t.Fatal(err)
				}
				held[i] = w
				continue
			}
			fr := frames.NewReader(bytes.NewReader(wire), frames.RoleServer)
			r := e.NewReader(fr, frames.RoleServer, tt.p)
			if _, err := readEvents(r, 32<<10); err != nil {
				t.Fatal(err)
			}
			held[i] = r
		}
		kib := float64(heap()-before) / conns / 1024
		runtime.KeepAlive(held)
		t.Logf("%-32s %7.1f KiB per connection", tt.name, kib)
		if kib > float64(tt.max) {
			t.Errorf("%s: %.1f KiB per connection, want at most %d", tt.name, kib, tt.max)
		}
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC() // once more for what sat in the pools' victim caches
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
