package deflate

import (
	"bufio"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// maxFrame is the largest payload of a compressed frame the Writer sends
// (less when the frames.Writer's MaxFrame says so).
const maxFrame = 32 << 10

// inflateBuf is the size of an inflater's output buffer: more than the 32
// KiB an inflater can hold back, so that one Read takes all it has (see
// Reader.fill).
const inflateBuf = 32<<10 + 512

// pools holds what connections take for one message and give back, so that
// an idle connection holds no flate state. They live in the Extension, not
// the package, so that their sizes follow its options and tests stay apart.
type pools struct {
	compressors [MaxWindowBits - MinWindowBits + 1]sync.Pool // *compressor, by window bits
	inflaters   sync.Pool                                    // *inflater
	frames      sync.Pool                                    // *[maxFrame + 4]byte
}

// compressor is a flate writer with the sink it writes to, so that a pooled
// one refers to nothing outside itself.
type compressor struct {
	zw   *flate.Writer
	sink sink
	bits int
}

// compressor returns a compressor with a fresh state for a window of 2^bits.
func (e *Extension) compressor(bits int) *compressor {
	if c, ok := e.pools.compressors[bits-MinWindowBits].Get().(*compressor); ok {
		c.zw.Reset(&c.sink)
		return c
	}
	c := &compressor{bits: bits}
	// Neither can fail: New checked the level, clampBits the window.
	if bits == MaxWindowBits {
		c.zw, _ = flate.NewWriter(&c.sink, e.level)
	} else {
		c.zw, _ = flate.NewWriterWindow(&c.sink, 1<<bits)
	}
	return c
}

func (e *Extension) putCompressor(c *compressor) {
	c.sink = sink{}
	e.pools.compressors[c.bits-MinWindowBits].Put(c)
}

// inflater is a flate reader with its input buffer and output buffer. The
// input is a bufio.Reader because klauspost's inflater has a fast path for
// it.
type inflater struct {
	br  *bufio.Reader
	zr  flateReader
	out [inflateBuf]byte
}

// flateReader is what klauspost's flate.NewReader returns.
type flateReader interface {
	io.Reader
	flate.Resetter
}

func (e *Extension) inflater() *inflater {
	if f, ok := e.pools.inflaters.Get().(*inflater); ok {
		return f
	}
	f := &inflater{br: bufio.NewReaderSize(nil, 4096)}
	f.zr = flate.NewReader(f.br).(flateReader)
	return f
}

func (e *Extension) putInflater(f *inflater) {
	f.br.Reset(nil) // forget the connection's source
	e.pools.inflaters.Put(f)
}

func (e *Extension) frameBuf() *[maxFrame + 4]byte {
	if b, ok := e.pools.frames.Get().(*[maxFrame + 4]byte); ok {
		return b
	}
	return new([maxFrame + 4]byte)
}

func (e *Extension) putFrameBuf(b *[maxFrame + 4]byte) { e.pools.frames.Put(b) }
