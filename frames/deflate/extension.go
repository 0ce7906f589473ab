package deflate

import (
	"fmt"

	"wsbridge/frames"
)

// DefaultLevel is the compression level when Options.Level is 0: the
// fastest, which on desktop images and terminal text gets within 10–30% of
// level 5's ratio at twice the speed (see BenchmarkLibraries).
const DefaultLevel = 1

// Options configures permessage-deflate for one endpoint, server or
// client. The zero value compresses every message at DefaultLevel with
// RFC 7692's defaults: context takeover both ways and 32 KiB windows.
type Options struct {
	// Level is the compression level, 1 (fastest) to 9 (smallest); zero
	// means DefaultLevel. A window below 32 KiB uses klauspost's one
	// custom-window compressor (about level 5) whatever Level says.
	Level int

	// ServerNoContextTakeover makes a server always answer with
	// server_no_context_takeover: it compresses each message on its own,
	// so a connection holds a compressor (about 1 MiB) only while it
	// sends, not for its whole life, at some cost in ratio across
	// messages. A client asks for it, and a server that does not agree
	// must decline the offer.
	ServerNoContextTakeover bool

	// ClientNoContextTakeover makes a server always answer with
	// client_no_context_takeover, so that it keeps no window (up to 32 KiB)
	// between a client's messages; a client offering it gets it anyway. A
	// client announces with it that it compresses each message on its own.
	ClientNoContextTakeover bool

	// ServerMaxWindowBits (8..15, zero means 15) bounds the window the
	// server compresses with. A server answers with it when below 15, and
	// honours any smaller server_max_window_bits a client asks for; a
	// client asks for it.
	ServerMaxWindowBits int

	// ClientMaxWindowBits (8..15, zero means 15) bounds the window the
	// client compresses with. A server answers with it when the client
	// offered client_max_window_bits (RFC 7692 allows it no more), which
	// bounds the window the server keeps per connection under client
	// context takeover. A client offers it (without a value when zero) and
	// compresses with no more.
	ClientMaxWindowBits int

	// Threshold is the size under which Writer.WriteMessage sends a
	// message uncompressed: deflate does not shrink a few bytes, and each
	// compressed message costs a flush. Zero compresses every message.
	Threshold int

	// Adaptive makes Writer.WriteMessage stop compressing data that does
	// not compress (encrypted, or already compressed as in VNC's tight
	// and ZRLE encodings): after a message that shrank by less than 1/32,
	// the next messages go out uncompressed until they add up to its
	// size, then twice that, four times, ... up to 1 MiB; a message that
	// compresses again ends the back-off. Random data then costs about
	// one compressed message per MiB, and a session whose data turns
	// compressible is compressed again within 1 MiB.
	Adaptive bool
}

// maxBackoff bounds Options.Adaptive's run of uncompressed bytes.
const maxBackoff = 1 << 20

// Extension is one endpoint's permessage-deflate: its options, and the
// pools of compressors, inflaters and buffers that its connections share so
// that idle ones hold none. It is safe for concurrent use.
type Extension struct {
	opts  Options
	level int
	pools pools
}

// New checks opts and returns an Extension using them.
func New(opts Options) (*Extension, error) {
	if opts.Level < 0 || opts.Level > 9 {
		return nil, fmt.Errorf("deflate: compression level %d, want 1..9 (0 for the default)", opts.Level)
	}
	for _, b := range []int{opts.ServerMaxWindowBits, opts.ClientMaxWindowBits} {
		if b != 0 && (b < MinWindowBits || b > MaxWindowBits) {
			return nil, fmt.Errorf("deflate: window bits %d, want 8..15 (0 for 15)", b)
		}
	}
	if opts.Threshold < 0 {
		return nil, fmt.Errorf("deflate: negative threshold %d", opts.Threshold)
	}
	e := &Extension{opts: opts, level: opts.Level}
	if e.level == 0 {
		e.level = DefaultLevel
	}
	return e, nil
}

// NewReader returns a Reader inflating the compressed messages that fr
// reads, for an endpoint in role with the agreed p. It lets RSV1 through
// fr (fr.AllowedRsv) and takes its MaxMessage as its own.
func (e *Extension) NewReader(fr *frames.Reader, role frames.Role, p Params) *Reader {
	takeover, bits := p.receiver(role)
	fr.AllowedRsv |= frames.Rsv1
	r := &Reader{MaxMessage: fr.MaxMessage, ext: e, takeover: takeover}
	r.src.fr = fr
	if takeover {
		r.win = newWindow(clampBits(bits))
	}
	return r
}

// NewWriter returns a Writer compressing the messages it writes through
// fw, for an endpoint in role with the agreed p.
func (e *Extension) NewWriter(fw *frames.Writer, role frames.Role, p Params) *Writer {
	takeover, bits := p.sender(role)
	return &Writer{fw: fw, ext: e, takeover: takeover, bits: clampBits(bits), threshold: e.opts.Threshold, adaptive: e.opts.Adaptive}
}

// clampBits keeps hand-made Params in range: a smaller window than agreed
// is always safe for a compressor, a larger one for an inflater.
func clampBits(b int) int { return min(max(b, MinWindowBits), MaxWindowBits) }
