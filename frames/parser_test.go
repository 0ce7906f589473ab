package frames

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// pframe is one frame as a decoder hands it out: its header and, for a
// data frame, its payload as read (all of it, or what came before an error
// or the end of the input); for a control frame, its payload.
type pframe struct {
	h    Header
	data []byte
}

func (f pframe) String() string {
	d := string(f.data)
	if len(d) > 24 {
		d = fmt.Sprintf("%.24q... (%d B)", d, len(d))
	} else {
		d = fmt.Sprintf("%q", d)
	}
	return fmt.Sprintf("%+v %s", f.h, d)
}

// diffFrames describes how got differs from want, or returns "".
func diffFrames(got, want []pframe) string {
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return fmt.Sprintf("frame %d: got none, want %v", i, want[i])
		case i >= len(want):
			return fmt.Sprintf("frame %d: got %v, want none", i, got[i])
		case got[i].h != want[i].h || !bytes.Equal(got[i].data, want[i].data):
			return fmt.Sprintf("frame %d: got %v, want %v", i, got[i], want[i])
		}
	}
	return ""
}

// readerFrames reads r up to its first error and returns the frames it
// handed out with that error.
func readerFrames(r *Reader) ([]pframe, error) {
	var out []pframe
	buf := make([]byte, 512)
	for {
		h, err := r.NextFrame()
		if err != nil {
			return out, err
		}
		if h.Op.IsControl() {
			out = append(out, pframe{h, bytes.Clone(r.ControlPayload())})
			continue
		}
		out = append(out, pframe{h: h, data: []byte{}})
		f := &out[len(out)-1]
		for {
			n, err := r.Read(buf)
			f.data = append(f.data, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				return out, err
			}
		}
	}
}

// parsed is what feedParser saw.
type parsed struct {
	frames  []pframe
	err     error // the protocol error, or nil if the input ran out
	pending int   // bytes held but not consumed when the input ran out
	inFrame bool  // InFrame when the input ran out
}

// fixed gives chunks of n bytes.
func fixed(n int) func() int { return func() int { return n } }

// randomSizes gives chunks of 1 to max bytes, reproducibly.
func randomSizes(seed uint64, max int) func() int {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return func() int { return 1 + rng.IntN(max) }
}

// same reports whether a and b are the same non-empty piece of memory.
func same(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

// feedParser drives p as an event loop would: it appends the next chunk of
// in (of size() bytes) to the bytes held, calls Next until it asks for
// more, drops what Next consumed and keeps the rest. in is not modified:
// the chunks are copied into a buffer of the loop's own.
//
// On every step it checks the Parser's contract: NeedMore only when the
// bytes held are too few (a header or a control frame not yet whole, or no
// payload byte) and with nothing consumed or unmasked; DataHeader consumes
// exactly the header, which ReadHeader agrees with; Payload and Control
// payloads are the held bytes themselves, unmasked in place; End is set on
// exactly the chunk that completes a data frame; InFrame tells whether
// payload is still owed; an error sticks.
func feedParser(t testing.TB, p *Parser, in []byte, size func() int) parsed {
	t.Helper()
	var (
		out   []pframe
		store []byte // the loop's read buffer
		buf   []byte // its bytes not yet consumed
		off   int    // bytes of in fed so far
		left  int64  // payload bytes of the current data frame still owed
	)
	for step := 0; ; step++ {
		// The bytes held, to check that NeedMore leaves them alone (it is
		// only right with fewer than a header and a control payload).
		var before []byte
		if len(buf) < MaxHeaderLen+MaxControlPayload {
			before = bytes.Clone(buf)
		}
		c, n, err := p.Next(buf)
		if n < 0 || n > len(buf) {
			t.Fatalf("step %d: Next consumed %d of %d bytes", step, n, len(buf))
		}
		if err != nil {
			if !IsProtocolError(err) {
				t.Fatalf("step %d: got %v, want a protocol error", step, err)
			}
			if c.Kind == Payload {
				if !same(c.Payload, buf[:n]) && len(c.Payload)+n > 0 {
					t.Fatalf("step %d: failing Payload chunk of %d bytes consumed %d", step, len(c.Payload), n)
				}
				out[len(out)-1].data = append(out[len(out)-1].data, c.Payload...)
			}
			for _, more := range [][]byte{buf[n:], buf, cframe(true, OpBinary, "after")} {
				if c2, n2, err2 := p.Next(more); err2 != err || n2 != 0 || c2.Kind != NeedMore || c2.Payload != nil {
					t.Fatalf("step %d: error did not stick: got %v, then (%+v, %d, %v)", step, err, c2, n2, err2)
				}
			}
			return parsed{frames: out, err: err, pending: len(buf) - n, inFrame: p.InFrame()}
		}
		switch c.Kind {
		case NeedMore:
			if n != 0 || c.Payload != nil || c.End || c.Header != (Header{}) {
				t.Fatalf("step %d: NeedMore chunk %+v consumed %d", step, c, n)
			}
			if hl := PeekHeaderLen(buf); left == 0 && hl > 0 && len(buf) >= hl {
				h, _ := ReadHeader(bytes.NewReader(buf), new([MaxHeaderLen]byte))
				if !h.Op.IsControl() || len(buf) >= hl+int(h.Length) {
					t.Fatalf("step %d: NeedMore with a whole %v frame or header in %d bytes", step, h.Op, len(buf))
				}
			}
			if left > 0 && len(buf) > 0 {
				t.Fatalf("step %d: NeedMore with %d payload bytes at hand", step, len(buf))
			}
			if !bytes.Equal(buf, before) {
				t.Fatalf("step %d: NeedMore modified the bytes held", step)
			}
			if off == len(in) {
				return parsed{frames: out, pending: len(buf), inFrame: p.InFrame()}
			}
			k := min(size(), len(in)-off)
			if k < 1 {
				t.Fatalf("chunk size %d", k)
			}
			m := copy(store, buf) // keep the unconsumed bytes, as a loop would
			store = append(store[:m], in[off:off+k]...)
			buf = store
			off += k
			continue
		case DataHeader:
			hl := PeekHeaderLen(buf)
			h, herr := ReadHeader(bytes.NewReader(buf[:n]), new([MaxHeaderLen]byte))
			if left != 0 || n != hl || herr != nil || c.Header != h || h.Op.IsControl() || c.Payload != nil {
				t.Fatalf("step %d: DataHeader %+v consumed %d (header %+v, %d bytes, %v; %d payload bytes owed)",
					step, c, n, h, hl, herr, left)
			}
			if c.End != (h.Length == 0) {
				t.Fatalf("step %d: DataHeader of %d bytes with End %v", step, h.Length, c.End)
			}
			out = append(out, pframe{h: h, data: []byte{}})
			left = h.Length
		case Payload:
			if left == 0 || n == 0 || int64(n) > left || !same(c.Payload, buf[:n]) || c.Header != (Header{}) {
				t.Fatalf("step %d: Payload chunk of %d bytes consumed %d, %d owed, in place %v",
					step, len(c.Payload), n, left, same(c.Payload, buf[:n]))
			}
			left -= int64(n)
			if c.End != (left == 0) {
				t.Fatalf("step %d: Payload chunk with End %v, %d bytes still owed", step, c.End, left)
			}
			out[len(out)-1].data = append(out[len(out)-1].data, c.Payload...)
		case Control:
			hl := PeekHeaderLen(buf)
			h, herr := ReadHeader(bytes.NewReader(buf[:hl]), new([MaxHeaderLen]byte))
			if left != 0 || herr != nil || c.Header != h || !h.Op.IsControl() || c.End ||
				n != hl+int(h.Length) || len(c.Payload) != int(h.Length) ||
				(h.Length > 0 && !same(c.Payload, buf[hl:n])) {
				t.Fatalf("step %d: Control chunk %+v consumed %d (header %+v, %v)", step, c, n, h, herr)
			}
			out = append(out, pframe{h, bytes.Clone(c.Payload)})
		default:
			t.Fatalf("step %d: chunk of kind %d", step, c.Kind)
		}
		if p.InFrame() != (left > 0) {
			t.Fatalf("step %d: InFrame %v with %d payload bytes owed", step, p.InFrame(), left)
		}
		buf = buf[n:]
	}
}

// parse runs a fresh Parser for role over in.
func parse(t testing.TB, role Role, in []byte, size func() int) parsed {
	t.Helper()
	return feedParser(t, NewParser(role), in, size)
}

// headerOf decodes the header that frame starts with.
func headerOf(frame []byte) Header {
	h, err := ReadHeader(bytes.NewReader(frame), new([MaxHeaderLen]byte))
	if err != nil {
		panic(err)
	}
	return h
}

// hdr is the header cframe writes.
func hdr(fin bool, op Opcode, payload string) Header { return headerOf(cframe(fin, op, payload)) }

// cf is the frame cframe(fin, op, payload) as the Parser should hand it out.
func cf(fin bool, op Opcode, payload string) pframe {
	return pframe{hdr(fin, op, payload), []byte(payload)}
}

// Whole, byte by byte or in random pieces, a stream gives the same frames
// with the same unmasked payloads, and the input is left as it was.
func TestParserSplits(t *testing.T) {
	big := string(pattern(70000))
	tests := []struct {
		name string
		in   []byte
		want []pframe
	}{
		{"binary 0", cframe(true, OpBinary, ""), []pframe{cf(true, OpBinary, "")}},
		{"binary 1", cframe(true, OpBinary, "x"), []pframe{cf(true, OpBinary, "x")}},
		{"binary 125", cframe(true, OpBinary, string(pattern(125))), []pframe{cf(true, OpBinary, string(pattern(125)))}},
		{"binary 126", cframe(true, OpBinary, string(pattern(126))), []pframe{cf(true, OpBinary, string(pattern(126)))}},
		{"binary 65535", cframe(true, OpBinary, string(pattern(65535))), []pframe{cf(true, OpBinary, string(pattern(65535)))}},
		{"binary 70000", cframe(true, OpBinary, big), []pframe{cf(true, OpBinary, big)}},
		{"text", cframe(true, OpText, string(textOf(1000))), []pframe{cf(true, OpText, string(textOf(1000)))}},
		{"stream", cat(
			cframe(true, OpBinary, "one"),
			cframe(false, OpText, "κό"),
			cframe(true, OpPing, "are you there"),
			cframe(false, OpContinuation, ""),
			cframe(true, OpContinuation, "σμε"),
			cframe(true, OpBinary, big),
			closeFrame(CloseNormal, "bye"),
		), []pframe{
			cf(true, OpBinary, "one"),
			cf(false, OpText, "κό"),
			cf(true, OpPing, "are you there"),
			cf(false, OpContinuation, ""),
			cf(true, OpContinuation, "σμε"),
			cf(true, OpBinary, big),
			cf(true, OpClose, "\x03\xe8bye"),
		}},
	}
	sizes := []struct {
		name string
		size func() int
	}{
		{"whole", fixed(1 << 30)},
		{"bytewise", fixed(1)},
		{"by 7", fixed(7)},
		{"random small", randomSizes(1, 16)},
		{"random", randomSizes(2, 3000)},
	}
	for _, tt := range tests {
		for _, sz := range sizes {
			t.Run(tt.name+"/"+sz.name, func(t *testing.T) {
				in := bytes.Clone(tt.in)
				got := parse(t, RoleServer, in, sz.size)
				if got.err != nil || got.pending != 0 || got.inFrame {
					t.Fatalf("got error %v, %d bytes pending, in frame %v; want a clean end", got.err, got.pending, got.inFrame)
				}
				if d := diffFrames(got.frames, tt.want); d != "" {
					t.Fatal(d)
				}
				if !bytes.Equal(in, tt.in) {
					t.Fatal("the input was modified")
				}
			})
		}
	}
}

// Fed its input in one buffer, the Parser unmasks in place: the Payload
// chunks are that buffer, and it holds the plain payload afterwards.
func TestParserInPlace(t *testing.T) {
	payload := pattern(1000)
	in := encode(Header{Fin: true, Op: OpBinary, Masked: true, Mask: testKey}, payload)
	if bytes.Equal(in[8:], payload) {
		t.Fatal("the frame is not masked")
	}
	p := NewParser(RoleServer)
	c, n, err := p.Next(in)
	if err != nil || c.Kind != DataHeader || n != 8 {
		t.Fatalf("got (%+v, %d, %v), want the 8-byte header", c, n, err)
	}
	rest := in[n:]
	for len(rest) > 0 {
		piece := rest[:min(len(rest), 333)]
		c, n, err := p.Next(piece)
		if err != nil || c.Kind != Payload || !same(c.Payload, piece) || n != len(piece) {
			t.Fatalf("got (%d bytes, kind %d, %d, %v), want %d bytes in place", len(c.Payload), c.Kind, n, err, len(piece))
		}
		rest = rest[n:]
	}
	if !bytes.Equal(in[8:], payload) {
		t.Fatal("the buffer does not hold the unmasked payload")
	}
}

// NeedMore, with nothing consumed and nothing unmasked, until a data
// frame's header or a whole control frame is at hand; and NeedMore when a
// data frame's payload is owed but no byte is given.
func TestParserNeedMore(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		need int // bytes before the first chunk
		want Chunk
	}{
		{"binary 0", cframe(true, OpBinary, ""), 6,
			Chunk{Kind: DataHeader, Header: hdr(true, OpBinary, ""), End: true}},
		{"binary 5", cframe(true, OpBinary, "hello"), 6,
			Chunk{Kind: DataHeader, Header: hdr(true, OpBinary, "hello")}},
		{"binary 16-bit length", cframe(true, OpBinary, strings.Repeat("a", 300)), 8,
			Chunk{Kind: DataHeader, Header: hdr(true, OpBinary, strings.Repeat("a", 300))}},
		{"binary 64-bit length", cframe(false, OpBinary, strings.Repeat("a", 70000)), 14,
			Chunk{Kind: DataHeader, Header: hdr(false, OpBinary, strings.Repeat("a", 70000))}},
		{"unmasked binary (client)", sframe(true, OpText, "hi"), 2,
			Chunk{Kind: DataHeader, Header: Header{Fin: true, Op: OpText, Length: 2}}},
		{"empty ping", cframe(true, OpPing, ""), 6,
			Chunk{Kind: Control, Header: hdr(true, OpPing, ""), Payload: []byte{}}},
		{"ping", cframe(true, OpPing, "hello"), 11,
			Chunk{Kind: Control, Header: hdr(true, OpPing, "hello"), Payload: []byte("hello")}},
		{"ping 125", cframe(true, OpPing, strings.Repeat("p", 125)), 131,
			Chunk{Kind: Control, Header: hdr(true, OpPing, strings.Repeat("p", 125)), Payload: []byte(strings.Repeat("p", 125))}},
		{"close", closeFrame(CloseGoingAway, "restart"), 15,
			Chunk{Kind: Control, Header: hdr(true, OpClose, "\x03\xe9restart"), Payload: []byte("\x03\xe9restart")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role := RoleServer
			if !tt.want.Header.Masked {
				role = RoleClient
			}
			p := NewParser(role) // one Parser: NeedMore must leave its state alone
			for k := range tt.need {
				prefix := bytes.Clone(tt.in[:k])
				c, n, err := p.Next(prefix)
				if err != nil || n != 0 || c.Kind != NeedMore || c.Payload != nil || p.InFrame() {
					t.Fatalf("%d bytes: got (%+v, %d, %v, InFrame %v), want NeedMore", k, c, n, err, p.InFrame())
				}
				if !bytes.Equal(prefix, tt.in[:k]) {
					t.Fatalf("%d bytes: NeedMore modified them", k)
				}
			}
			in := bytes.Clone(tt.in)
			c, n, err := p.Next(in[:tt.need])
			if err != nil || n != tt.need || c.Kind != tt.want.Kind || c.Header != tt.want.Header ||
				!bytes.Equal(c.Payload, tt.want.Payload) || (c.Payload == nil) != (tt.want.Payload == nil) || c.End != tt.want.End {
				t.Fatalf("%d bytes: got (%+v, %d, %v), want %+v", tt.need, c, n, err, tt.want)
			}
			owed := tt.want.Kind == DataHeader && tt.want.Header.Length > 0
			if p.InFrame() != owed {
				t.Fatalf("InFrame %v, want %v", p.InFrame(), owed)
			}
			if owed {
				for _, empty := range [][]byte{nil, {}} {
					if c, n, err := p.Next(empty); err != nil || n != 0 || c.Kind != NeedMore || !p.InFrame() {
						t.Fatalf("no payload bytes: got (%+v, %d, %v), want NeedMore", c, n, err)
					}
				}
			}
		})
	}
}

// Control frames come out whole, unmasked in place, also between the
// fragments of a message; a Close payload is the valid code and reason.
func TestParserControl(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		payload string
		code    CloseCode // for Close
		reason  string
	}{
		{"empty ping", cframe(true, OpPing, ""), "", 0, ""},
		{"ping", cframe(true, OpPing, "Hello"), "Hello", 0, ""},
		{"ping 125", cframe(true, OpPing, strings.Repeat("x", 125)), strings.Repeat("x", 125), 0, ""},
		{"pong", cframe(true, OpPong, "ack"), "ack", 0, ""},
		{"empty close", cframe(true, OpClose, ""), "", CloseNoStatus, ""},
		{"close code", closeFrame(CloseNormal, ""), "\x03\xe8", CloseNormal, ""},
		{"close code and reason", closeFrame(4000, "going, ça va"), "\x0f\xa0going, ça va", 4000, "going, ça va"},
		{"close 123-byte reason", closeFrame(CloseTryAgainLater, strings.Repeat("r", 123)),
			"\x03\xf5" + strings.Repeat("r", 123), CloseTryAgainLater, strings.Repeat("r", 123)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Alone, with a data frame after it, and between two fragments.
			before := cframe(false, OpBinary, "ab")
			streams := [][]byte{tt.in, cat(tt.in, cframe(true, OpBinary, "next")), cat(before, tt.in, cframe(true, OpContinuation, "c"))}
			for i, s := range streams {
				in := bytes.Clone(s)
				p := NewParser(RoleServer)
				at := 0
				if i == 2 {
					for at < len(before) {
						_, n, err := p.Next(in[at:len(before)])
						if err != nil || n == 0 {
							t.Fatalf("stream %d: fragment: got %d, %v", i, n, err)
						}
						at += n
					}
				}
				c, n, err := p.Next(in[at:])
				if err != nil || c.Kind != Control || n != len(tt.in) || c.End {
					t.Fatalf("stream %d: got (%+v, %d, %v), want a Control chunk of %d bytes", i, c, n, err, len(tt.in))
				}
				if h := headerOf(tt.in); c.Header != h || h.Length != int64(len(tt.payload)) {
					t.Fatalf("stream %d: got header %+v, want %+v", i, c.Header, h)
				}
				if string(c.Payload) != tt.payload {
					t.Fatalf("stream %d: got payload %q, want %q", i, c.Payload, tt.payload)
				}
				hl := n - len(tt.payload)
				if len(tt.payload) > 0 && !same(c.Payload, in[at+hl:at+n]) {
					t.Fatalf("stream %d: payload not unmasked in place", i)
				}
				if c.Header.Op == OpClose {
					code, reason, err := ParseClose(c.Payload)
					if err != nil || code != tt.code || reason != tt.reason {
						t.Fatalf("stream %d: ParseClose: got %d %q %v, want %d %q", i, code, reason, err, tt.code, tt.reason)
					}
				}
				if i == 2 && p.msg.op != OpBinary {
					t.Fatalf("stream %d: the control frame closed the open message", i)
				}
			}
		})
	}
}

// An empty data frame is just its DataHeader, with End set; it can open,
// continue and end a message.
func TestParserEmptyFrames(t *testing.T) {
	in := cat(
		cframe(true, OpBinary, ""),
		cframe(true, OpText, ""),
		cframe(false, OpText, ""),
		cframe(false, OpContinuation, ""),
		cframe(true, OpContinuation, ""),
		cframe(false, OpBinary, "x"),
		cframe(true, OpContinuation, ""),
	)
	p := NewParser(RoleServer)
	type step struct {
		kind ChunkKind
		h    Header
		n    int
		end  bool
	}
	want := []step{
		{DataHeader, hdr(true, OpBinary, ""), 6, true},
		{DataHeader, hdr(true, OpText, ""), 6, true},
		{DataHeader, hdr(false, OpText, ""), 6, true},
		{DataHeader, hdr(false, OpContinuation, ""), 6, true},
		{DataHeader, hdr(true, OpContinuation, ""), 6, true},
		{DataHeader, hdr(false, OpBinary, "x"), 6, false},
		{Payload, Header{}, 1, true},
		{DataHeader, hdr(true, OpContinuation, ""), 6, true},
	}
	for i, w := range want {
		c, n, err := p.Next(in)
		if err != nil || c.Kind != w.kind || c.Header != w.h || n != w.n || c.End != w.end {
			t.Fatalf("step %d: got (%+v, %d, %v), want %+v", i, c, n, err, w)
		}
		if c.Kind == DataHeader && c.Payload != nil {
			t.Fatalf("step %d: DataHeader with a payload", i)
		}
		in = in[n:]
	}
	if len(in) != 0 || p.InFrame() || p.msg.op != 0 {
		t.Fatalf("%d bytes left, InFrame %v, message %v open", len(in), p.InFrame(), p.msg.op)
	}
}

// Fragmented messages: binary and text, with continuations and control
// frames between the fragments, code points split across fragments, and a
// new message once the last one has ended.
func TestParserFragmented(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []pframe
	}{
		{"binary", cat(cframe(false, OpBinary, "ab"), cframe(false, OpContinuation, "cd"), cframe(true, OpContinuation, "ef")),
			[]pframe{cf(false, OpBinary, "ab"), cf(false, OpContinuation, "cd"), cf(true, OpContinuation, "ef")}},
		{"binary with pings", cat(cframe(false, OpBinary, "ab"), cframe(true, OpPing, "1"), cframe(true, OpContinuation, "cd"),
			cframe(true, OpPong, "2"), cframe(true, OpBinary, "new")),
			[]pframe{cf(false, OpBinary, "ab"), cf(true, OpPing, "1"), cf(true, OpContinuation, "cd"), cf(true, OpPong, "2"), cf(true, OpBinary, "new")}},
		{"text split in code points", cat(cframe(false, OpText, "\xce"), cframe(false, OpContinuation, "\xbaό\xf0\x9f"),
			cframe(true, OpContinuation, "\x98\x80!"), cframe(true, OpText, "€")),
			[]pframe{cf(false, OpText, "\xce"), cf(false, OpContinuation, "\xbaό\xf0\x9f"), cf(true, OpContinuation, "\x98\x80!"), cf(true, OpText, "€")}},
		{"large fragments", cat(cframe(false, OpBinary, string(pattern(70000))), cframe(true, OpContinuation, string(pattern(300)))),
			[]pframe{cf(false, OpBinary, string(pattern(70000))), cf(true, OpContinuation, string(pattern(300)))}},
	}
	for _, tt := range tests {
		for _, split := range []int{1, 3, 1 << 20} {
			t.Run(fmt.Sprintf("%s/by %d", tt.name, split), func(t *testing.T) {
				got := parse(t, RoleServer, tt.in, fixed(split))
				if got.err != nil || got.pending != 0 || got.inFrame {
					t.Fatalf("got error %v, %d bytes pending, in frame %v", got.err, got.pending, got.inFrame)
				}
				if d := diffFrames(got.frames, tt.want); d != "" {
					t.Fatal(d)
				}
			})
		}
	}
}

// End is set on the Payload chunk that completes each frame and on no
// other; a Payload chunk stops at the end of its frame even when the bytes
// given go on.
func TestParserEnd(t *testing.T) {
	in := cat(cframe(false, OpBinary, "0123456789"), cframe(true, OpContinuation, "abcd"))
	p := NewParser(RoleServer)
	type step struct {
		give    int // bytes given (from the current position), 0 for all
		kind    ChunkKind
		payload string
		end     bool
	}
	steps := []step{
		{0, DataHeader, "", false},
		{3, Payload, "012", false},
		{3, Payload, "345", false},
		{3, Payload, "678", false},
		{0, Payload, "9", true}, // all the rest given: cut at the frame's end
		{0, DataHeader, "", false},
		{2, Payload, "ab", false},
		{0, Payload, "cd", true},
	}
	for i, s := range steps {
		b := in
		if s.give > 0 {
			b = in[:s.give]
		}
		c, n, err := p.Next(b)
		if err != nil || c.Kind != s.kind || string(c.Payload) != s.payload || c.End != s.end {
			t.Fatalf("step %d: got (%+v, %d, %v), want %+v", i, c, n, err, s)
		}
		if c.Kind == Payload && n != len(s.payload) {
			t.Fatalf("step %d: consumed %d, want %d", i, n, len(s.payload))
		}
		if p.InFrame() != (c.Kind == DataHeader || !c.End) {
			t.Fatalf("step %d: InFrame %v", i, p.InFrame())
		}
		in = in[n:]
	}
	if len(in) != 0 {
		t.Fatalf("%d bytes left", len(in))
	}
}

// In the client role the Parser takes a server's unmasked frames (nothing
// to unmask) and refuses a masked one.
func TestParserClientRole(t *testing.T) {
	in := cat(sframe(false, OpText, "hé"), sframe(true, OpPing, "p"), sframe(true, OpContinuation, "llo"), sframe(true, OpClose, "\x03\xe8"))
	got := parse(t, RoleClient, in, fixed(2))
	want := []pframe{
		{Header{Op: OpText, Length: 3}, []byte("hé")},
		{Header{Fin: true, Op: OpPing, Length: 1}, []byte("p")},
		{Header{Fin: true, Op: OpContinuation, Length: 3}, []byte("llo")},
		{Header{Fin: true, Op: OpClose, Length: 2}, []byte("\x03\xe8")},
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	if d := diffFrames(got.frames, want); d != "" {
		t.Fatal(d)
	}
	if got := parse(t, RoleClient, cframe(true, OpBinary, "x"), fixed(100)); got.err != ErrMaskedFrame {
		t.Fatalf("masked frame: got %v, want %v", got.err, ErrMaskedFrame)
	}
}

// An extension's RSV bit is accepted when allowed, and a text message it
// encodes is not checked as UTF-8 (the extension checks what it decodes).
func TestParserAllowedRsv(t *testing.T) {
	in := cat(rawFrame(false, Rsv1, OpText, "\xff\xfe"), rawFrame(true, 0, OpContinuation, "\xc0"), rawFrame(true, Rsv1, OpBinary, "z"))
	p := NewParser(RoleServer)
	p.AllowedRsv = Rsv1
	got := feedParser(t, p, in, fixed(1))
	if got.err != nil || len(got.frames) != 3 || string(got.frames[0].data) != "\xff\xfe" || got.frames[0].h.Rsv != Rsv1 {
		t.Fatalf("got %v, error %v", got.frames, got.err)
	}
	if got := parse(t, RoleServer, in, fixed(1)); got.err != ErrReservedBits {
		t.Fatalf("no extension: got %v, want %v", got.err, ErrReservedBits)
	}
}

// Every protocol error the Reader reports, the Parser reports the same
// way: the same error, after the same frames, however the input is split;
// and the error sticks.
func TestParserErrors(t *testing.T) {
	ping126 := cframe(true, OpPing, strings.Repeat("p", 126))
	hl := func(f []byte) []byte { return f[:PeekHeaderLen(f)] } // a frame's header alone
	tests := []struct {
		name   string
		in     []byte
		role   Role
		limit  int64
		rsv    byte
		err    error
		code   CloseCode
		frames int // frames handed out before the error
	}{
		{"unmasked client frame", sframe(true, OpBinary, "x"), RoleServer, 0, 0, ErrUnmaskedFrame, CloseProtocolError, 0},
		{"unmasked client frame, header only", hl(sframe(true, OpBinary, "xyz")), RoleServer, 0, 0, ErrUnmaskedFrame, CloseProtocolError, 0},
		{"unmasked ping after a frame", cat(cframe(true, OpBinary, "ok"), sframe(true, OpPing, "")), RoleServer, 0, 0, ErrUnmaskedFrame, CloseProtocolError, 1},
		{"masked server frame", cframe(true, OpText, "x"), RoleClient, 0, 0, ErrMaskedFrame, CloseProtocolError, 0},
		{"RSV1", rawFrame(true, Rsv1, OpBinary, "x"), RoleServer, 0, 0, ErrReservedBits, CloseProtocolError, 0},
		{"RSV2", rawFrame(true, Rsv2, OpText, ""), RoleServer, 0, 0, ErrReservedBits, CloseProtocolError, 0},
		{"RSV3 on ping", rawFrame(true, Rsv3, OpPing, ""), RoleServer, 0, 0, ErrReservedBits, CloseProtocolError, 0},
		{"RSV2 with RSV1 allowed", rawFrame(true, Rsv2, OpBinary, "x"), RoleServer, 0, Rsv1, ErrReservedBits, CloseProtocolError, 0},
		{"opcode 3", rawFrame(true, 0, 3, ""), RoleServer, 0, 0, ErrReservedOpcode, CloseProtocolError, 0},
		{"opcode 7", rawFrame(true, 0, 7, "abc"), RoleServer, 0, 0, ErrReservedOpcode, CloseProtocolError, 0},
		{"opcode 0xB", rawFrame(true, 0, 0xB, ""), RoleServer, 0, 0, ErrReservedOpcode, CloseProtocolError, 0},
		{"opcode 0xF mid-message", cat(cframe(false, OpText, "a"), rawFrame(true, 0, 0xF, "")), RoleServer, 0, 0, ErrReservedOpcode, CloseProtocolError, 1},
		{"ping 126", ping126, RoleServer, 0, 0, ErrControlTooLong, CloseProtocolError, 0},
		{"ping 126, header only", hl(ping126), RoleServer, 0, 0, ErrControlTooLong, CloseProtocolError, 0},
		{"close 64-bit length, header only", hl(cframe(true, OpClose, strings.Repeat("c", 70000))), RoleServer, 0, 0, ErrControlTooLong, CloseProtocolError, 0},
		{"fragmented ping", cframe(false, OpPing, ""), RoleServer, 0, 0, ErrControlFragmented, CloseProtocolError, 0},
		{"fragmented close", cframe(false, OpClose, "\x03\xe8"), RoleServer, 0, 0, ErrControlFragmented, CloseProtocolError, 0},
		{"orphan continuation", cframe(true, OpContinuation, "x"), RoleServer, 0, 0, ErrOrphanContinuation, CloseProtocolError, 0},
		{"empty orphan continuation", cframe(false, OpContinuation, ""), RoleServer, 0, 0, ErrOrphanContinuation, CloseProtocolError, 0},
		{"continuation after the end", cat(cframe(false, OpBinary, "a"), cframe(true, OpContinuation, "b"), cframe(true, OpContinuation, "c")),
			RoleServer, 0, 0, ErrOrphanContinuation, CloseProtocolError, 2},
		{"binary inside text", cat(cframe(false, OpText, "a"), cframe(true, OpBinary, "b")), RoleServer, 0, 0, ErrUnfinishedMessage, CloseProtocolError, 1},
		{"text inside binary, after a ping", cat(cframe(false, OpBinary, "a"), cframe(true, OpPing, ""), cframe(false, OpText, "")),
			RoleServer, 0, 0, ErrUnfinishedMessage, CloseProtocolError, 2},
		{"64-bit length, top bit", []byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, RoleServer, 0, 0, ErrLengthOverflow, CloseProtocolError, 0},
		{"64-bit length, all ones", []byte{0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}, RoleServer, 0, 0, ErrLengthOverflow, CloseProtocolError, 0},
		{"64-bit length, top bit, ping", []byte{0x89, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, RoleServer, 0, 0, ErrLengthOverflow, CloseProtocolError, 0},
		{"64-bit length, top bit, unmasked", []byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, RoleServer, 0, 0, ErrLengthOverflow, CloseProtocolError, 0},
		{"64-bit length, top bit, client", []byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, RoleClient, 0, 0, ErrLengthOverflow, CloseProtocolError, 0},
		{"close of 1 byte", cframe(true, OpClose, "\x03"), RoleServer, 0, 0, ErrClosePayloadLen, CloseProtocolError, 0},
		{"close of 1 byte, header only", hl(cframe(true, OpClose, "\x03")), RoleServer, 0, 0, ErrClosePayloadLen, CloseProtocolError, 0},
		{"close code 0", closeFrame(0, ""), RoleServer, 0, 0, ErrCloseCode, CloseProtocolError, 0},
		{"close code 999", closeFrame(999, "x"), RoleServer, 0, 0, ErrCloseCode, CloseProtocolError, 0},
		{"close code 1005", closeFrame(CloseNoStatus, ""), RoleServer, 0, 0, ErrCloseCode, CloseProtocolError, 0},
		{"close code 1006", closeFrame(CloseAbnormal, ""), RoleServer, 0, 0, ErrCloseCode, CloseProtocolError, 0},
		{"close code 1015", closeFrame(CloseTLSHandshake, ""), RoleServer, 0, 0, ErrCloseCode, CloseProtocolError, 0},
		{"close code 2999", closeFrame(2999, ""), RoleServer, 0, 0, ErrCloseCode, CloseProtocolError, 0},
		{"close code 5000", closeFrame(5000, "x"), RoleServer, 0, 0, ErrCloseCode, CloseProtocolError, 0},
		{"close reason \\xff", closeFrame(CloseNormal, "\xff"), RoleServer, 0, 0, ErrInvalidCloseReason, CloseInvalidPayload, 0},
		{"close reason cut code point", closeFrame(CloseNormal, "ok\xce"), RoleServer, 0, 0, ErrInvalidCloseReason, CloseInvalidPayload, 0},
		{"close reason surrogate", closeFrame(CloseGoingAway, "\xed\xa0\x80"), RoleServer, 0, 0, ErrInvalidCloseReason, CloseInvalidPayload, 0},
		{"text \\xff", cframe(true, OpText, "ok\xffno"), RoleServer, 0, 0, ErrInvalidUTF8, CloseInvalidPayload, 1},
		{"text overlong", cframe(true, OpText, "\xc0\xaf"), RoleServer, 0, 0, ErrInvalidUTF8, CloseInvalidPayload, 1},
		{"text above U+10FFFF", cframe(true, OpText, "\xf4\x90\x80\x80"), RoleServer, 0, 0, ErrInvalidUTF8, CloseInvalidPayload, 1},
		{"text bad fragment", cat(cframe(false, OpText, "κ"), cframe(true, OpPing, ""), cframe(true, OpContinuation, "\xed\xa0\x80")),
			RoleServer, 0, 0, ErrInvalidUTF8, CloseInvalidPayload, 3},
		{"text bad before the rest arrives", cframe(true, OpText, "\xff"+strings.Repeat("a", 1000))[:9], RoleServer, 0, 0, ErrInvalidUTF8, CloseInvalidPayload, 1},
		{"text code point left open", cframe(true, OpText, "ab\xce"), RoleServer, 0, 0, ErrInvalidUTF8, CloseInvalidPayload, 1},
		{"text code point left open by fragments", cat(cframe(false, OpText, "a\xf0\x9f"), cframe(true, OpContinuation, "\x98")),
			RoleServer, 0, 0, ErrInvalidUTF8, CloseInvalidPayload, 2},
		{"text code point left open, empty last fragment", cat(cframe(false, OpText, "\xe2\x82"), cframe(true, OpContinuation, "")),
			RoleServer, 0, 0, ErrInvalidUTF8, CloseInvalidPayload, 1},
		{"too big", cframe(true, OpBinary, "123456"), RoleServer, 5, 0, ErrMessageTooBig, CloseMessageTooBig, 0},
		{"too big, header only", hl(cframe(true, OpBinary, strings.Repeat("a", 70000))), RoleServer, 65536, 0, ErrMessageTooBig, CloseMessageTooBig, 0},
		{"too big over fragments", cat(cframe(false, OpText, "123"), cframe(true, OpPing, "ping is not counted"), cframe(true, OpContinuation, "456")),
			RoleServer, 5, 0, ErrMessageTooBig, CloseMessageTooBig, 2},
		{"too big, huge length", []byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}, RoleServer, 1 << 20, 0, ErrMessageTooBig, CloseMessageTooBig, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tt.in), tt.role)
			r.MaxMessage, r.AllowedRsv = tt.limit, tt.rsv
			want, rerr := readerFrames(r)
			if rerr != tt.err {
				t.Fatalf("the Reader gives %v, want %v: the table is wrong", rerr, tt.err)
			}
			if len(want) != tt.frames {
				t.Fatalf("the Reader hands out %d frames, want %d: the table is wrong", len(want), tt.frames)
			}
			for _, split := range []int{1, 2, 5, 1 << 20} {
				p := NewParser(tt.role)
				p.MaxMessage, p.AllowedRsv = tt.limit, tt.rsv
				got := feedParser(t, p, tt.in, fixed(split))
				checkErr(t, got.err, tt.err, tt.code)
				if d := diffFrames(got.frames, want); d != "" {
					t.Fatalf("by %d: %s", split, d)
				}
			}
		})
	}
}

// Lengths near the limits of int64 neither overflow nor slip past
// MaxMessage.
func TestParserHugeLengths(t *testing.T) {
	huge := func(fin bool, op Opcode, n uint64) []byte {
		b := []byte{byte(op), 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
		if fin {
			b[0] |= 0x80
		}
		for i := range 8 {
			b[2+i] = byte(n >> (56 - 8*i))
		}
		return b
	}
	for _, limit := range []int64{0, 1 << 62, 1<<63 - 1} {
		p := NewParser(RoleServer)
		p.MaxMessage = limit
		c, n, err := p.Next(huge(false, OpBinary, 1<<62))
		if err != nil || c.Kind != DataHeader || n != 14 || c.Header.Length != 1<<62 || !p.InFrame() {
			t.Fatalf("limit %d: got (%+v, %d, %v)", limit, c, n, err)
		}
		// Skip the payload: the Parser cannot tell, it counts what it is given.
		p.left = 0
		_, _, err = p.Next(huge(true, OpContinuation, 1<<62))
		if limit == 0 {
			if err != nil || p.msg.len != 1<<63-1 {
				t.Fatalf("no limit: got %v, message length %d, want it saturated", err, p.msg.len)
			}
		} else if err != ErrMessageTooBig {
			t.Fatalf("limit %d: got %v, want %v", limit, err, ErrMessageTooBig)
		}
	}
}

// Once an error is reported, every call reports it again, whatever it is
// given, consuming nothing.
func TestParserStickyError(t *testing.T) {
	in := cat(cframe(true, OpBinary, "ok"), rawFrame(true, Rsv1, OpBinary, "bad"), cframe(true, OpBinary, "after"))
	p := NewParser(RoleServer)
	var err error
	for len(in) > 0 && err == nil {
		var n int
		_, n, err = p.Next(in)
		in = in[n:]
	}
	if err != ErrReservedBits {
		t.Fatalf("got %v, want %v", err, ErrReservedBits)
	}
	for _, b := range [][]byte{nil, in, cframe(true, OpBinary, "fine"), cframe(true, OpPing, "")} {
		if c, n, err := p.Next(b); err != ErrReservedBits || n != 0 || c.Kind != NeedMore || c.Payload != nil {
			t.Fatalf("got (%+v, %d, %v), want %v again", c, n, err, ErrReservedBits)
		}
	}

	// An error inside a payload: the valid bytes before it are handed
	// out, and the error sticks even if the frame's bytes are given again.
	p = NewParser(RoleServer)
	f := cframe(true, OpText, "abc\xffdef")
	c, n, _ := p.Next(f)
	if c.Kind != DataHeader || !p.InFrame() {
		t.Fatalf("got %+v", c)
	}
	c, m, err := p.Next(f[n:])
	if err != ErrInvalidUTF8 || c.Kind != Payload || string(c.Payload) != "abc" || m != 3 || c.End {
		t.Fatalf("got (%+v, %d, %v), want the 3 valid bytes and %v", c, m, err, ErrInvalidUTF8)
	}
	if c, n, err := p.Next(f[n+m:]); err != ErrInvalidUTF8 || n != 0 || c.Payload != nil {
		t.Fatalf("got (%+v, %d, %v), want %v again", c, n, err, ErrInvalidUTF8)
	}
}

// Decoding allocates nothing. (A Close frame with a reason is left out:
// ParseClose, which validates it as for the Reader, returns the reason as a
// string.)
func TestParserAllocs(t *testing.T) {
	in := cat(cframe(false, OpText, "héllo"), cframe(true, OpPing, "p"), cframe(true, OpContinuation, strings.Repeat("x", 20000)),
		closeFrame(CloseNormal, ""))
	buf := make([]byte, len(in))
	p := NewParser(RoleServer)
	allocs := testing.AllocsPerRun(100, func() {
		copy(buf, in)
		b := buf
		for len(b) > 0 {
			c, n, err := p.Next(b[:min(len(b), 4096)])
			if err != nil || c.Kind == NeedMore {
				t.Fatalf("got (%+v, %d, %v)", c, n, err)
			}
			b = b[n:]
		}
	})
	if allocs != 0 {
		t.Errorf("got %v allocs per run, want 0", allocs)
	}
}

// parserSeeds are the streams of the Reader's fuzz test and of the tables
// above, valid and invalid.
func parserSeeds() [][]byte {
	seeds := readerSeeds()
	seeds = append(seeds,
		cat(cframe(false, OpText, "κό"), cframe(true, OpPing, "p"), cframe(true, OpContinuation, "σμε"), closeFrame(CloseNormal, "bye")),
		cat(cframe(true, OpBinary, ""), cframe(false, OpBinary, ""), cframe(true, OpContinuation, "x")),
		cframe(true, OpBinary, string(pattern(300))),
		cat(cframe(false, OpText, "\xe2\x82"), cframe(true, OpContinuation, "")),
		cat(cframe(false, OpText, "a"), cframe(true, OpBinary, "b")),
		cframe(true, OpContinuation, "x"),
		sframe(true, OpBinary, "unmasked"),
		rawFrame(true, Rsv1, OpText, "\xff"),
		rawFrame(true, 0, 0xB, ""),
		cframe(true, OpPing, strings.Repeat("p", 126))[:8],
		cframe(false, OpClose, ""),
		cframe(true, OpClose, "\x03"),
		closeFrame(CloseNoStatus, ""),
		closeFrame(CloseNormal, "\xff"),
		cframe(true, OpText, "ok\xffno"),
		[]byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4},
		[]byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0},
	)
	return seeds
}

// FuzzParserMatchesReader runs a Reader and a Parser over the same bytes,
// the Parser fed in chunks of split+1 bytes as an event loop would. They
// must hand out the same frames (headers, each data frame's payload as
// read, control payloads) and end with the same protocol error, or both
// cleanly: io.EOF for the Reader when the Parser holds no bytes and owes no
// payload, io.ErrUnexpectedEOF when it does. opts sets AllowedRsv (low
// three bits) and the role (bit 3: client; server otherwise).
func FuzzParserMatchesReader(f *testing.F) {
	splits := []uint16{0, 1, 2, 6, 13, 1000, 65535}
	limits := []uint32{0, 0, 5, 125, 1 << 16}
	for i, s := range parserSeeds() {
		f.Add(s, splits[i%len(splits)], limits[i%len(limits)], uint8(i%3)*Rsv1)
	}
	f.Add(sframe(true, OpText, "client"), uint16(0), uint32(0), uint8(8))
	f.Add(cat(sframe(false, OpText, "\xce"), sframe(true, OpContinuation, "\xba")), uint16(1), uint32(2), uint8(8|Rsv1))
	f.Fuzz(func(t *testing.T, data []byte, split uint16, limit uint32, opts uint8) {
		role := RoleServer
		if opts&8 != 0 {
			role = RoleClient
		}
		rsv := opts & 7

		r := NewReader(bytes.NewReader(data), role)
		r.MaxMessage, r.AllowedRsv = int64(limit), rsv
		want, rerr := readerFrames(r)

		in := bytes.Clone(data)
		p := NewParser(role)
		p.MaxMessage, p.AllowedRsv = int64(limit), rsv
		got := feedParser(t, p, in, fixed(1+int(split)))
		if !bytes.Equal(in, data) {
			t.Fatal("the Parser modified its caller's input")
		}

		if d := diffFrames(got.frames, want); d != "" {
			t.Fatalf("Parser vs Reader: %s (Reader's error %v, Parser's %v)", d, rerr, got.err)
		}
		switch {
		case rerr == io.EOF:
			if got.err != nil || got.pending != 0 || got.inFrame {
				t.Fatalf("the Reader ends cleanly; the Parser: error %v, %d bytes pending, in frame %v", got.err, got.pending, got.inFrame)
			}
		case rerr == io.ErrUnexpectedEOF:
			if got.err != nil || (got.pending == 0 && !got.inFrame) {
				t.Fatalf("the Reader ends inside a frame; the Parser: error %v, %d bytes pending, in frame %v", got.err, got.pending, got.inFrame)
			}
		case IsProtocolError(rerr):
			if !errors.Is(got.err, rerr) {
				t.Fatalf("the Reader fails with %v, the Parser with %v", rerr, got.err)
			}
		default:
			t.Fatalf("the Reader fails with %v", rerr)
		}
	})
}

// BenchmarkParser decodes a buffer of masked binary frames, as an event
// loop holding them all would. Unmasking is its own inverse and headers are
// not masked, so each pass leaves the buffer valid for the next one.
func BenchmarkParser(b *testing.B) {
	for _, n := range []int{64, 1 << 10, 64 << 10} {
		b.Run(sizeName(n), func(b *testing.B) {
			frame := encode(Header{Fin: true, Op: OpBinary, Masked: true, Mask: testKey}, pattern(n))
			var buf []byte
			frames := 0
			for len(buf) < 256<<10 {
				buf = append(buf, frame...)
				frames++
			}
			p := NewParser(RoleServer)
			b.SetBytes(int64(frames * n))
			b.ReportAllocs()
			for b.Loop() {
				rest := buf
				for len(rest) > 0 {
					c, k, err := p.Next(rest)
					if err != nil || c.Kind == NeedMore {
						b.Fatalf("got (%v, %d, %v)", c.Kind, k, err)
					}
					rest = rest[k:]
				}
			}
		})
	}
}
