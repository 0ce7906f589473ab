package frames

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// Autobahn|Testsuite's fuzzing-client cases, groups 1–7 and 9, restated at
// the codec level: the client's frames (masked) go through a server-role
// Reader, and the case says what the Reader hands out (what an echo server
// would echo) and how reading ends. Group 6.4 (fail fast) is
// TestAutobahnFailFast; group 9's timing is for a live server.
//
// Autobahn also checks the connection's behaviour after a Close (stop
// reading, answer, close TCP); the codec keeps reading frames as long as
// it is asked to, so group 7.1 cases list what follows the Close too.

type abCase struct {
	id     string
	frames [][]byte // the client's frames
	chop   int      // bytes per Read: 0 all at once, perFrame one frame per Read
	events []event
	err    error     // io.EOF, or the protocol error that ends the case
	code   CloseCode // the close code for err (0 for io.EOF)
	big    bool      // too large to also run with 1-byte reads
}

const perFrame = -1

// frameReader returns one frame per Read, like a peer flushing each frame.
type frameReader struct {
	frames [][]byte
	cur    []byte
}

func (f *frameReader) Read(p []byte) (int, error) {
	for len(f.cur) == 0 {
		if len(f.frames) == 0 {
			return 0, io.EOF
		}
		f.cur, f.frames = f.frames[0], f.frames[1:]
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	return n, nil
}

func (c abCase) source(chop int) io.Reader {
	switch chop {
	case 0:
		return bytes.NewReader(cat(c.frames...))
	case perFrame:
		return &frameReader{frames: c.frames}
	}
	return &chopReader{bytes.NewReader(cat(c.frames...)), chop}
}

func runAutobahn(t *testing.T, cases []abCase) {
	t.Helper()
	for _, c := range cases {
		chops := []int{c.chop}
		if !c.big && c.chop != 1 {
			chops = append(chops, 1)
		}
		for _, chop := range chops {
			t.Run(fmt.Sprintf("%s/chop=%d", c.id, chop), func(t *testing.T) {
				r := NewReader(c.source(chop), RoleServer)
				evs, err := readEvents(r, make([]byte, 4096))
				if err != c.err {
					t.Errorf("got error %v, want %v", err, c.err)
				}
				if got := CloseCodeOf(err); got != c.code {
					t.Errorf("got close code %d, want %d", got, c.code)
				}
				if d := diffEvents(evs, c.events); d != "" {
					t.Error(d)
				}
			})
		}
	}
}

// TestAutobahn runs groups 1–7; 6.4 and 9 have tests of their own.
func TestAutobahn(t *testing.T) {
	t.Run("Framing", func(t *testing.T) { runAutobahn(t, framingCases()) })
	t.Run("PingPong", func(t *testing.T) { runAutobahn(t, pingCases()) })
	t.Run("ReservedBits", func(t *testing.T) { runAutobahn(t, reservedBitsCases()) })
	t.Run("Opcodes", func(t *testing.T) { runAutobahn(t, opcodeCases()) })
	t.Run("Fragmentation", func(t *testing.T) { runAutobahn(t, fragmentationCases()) })
	t.Run("UTF8", func(t *testing.T) { runAutobahn(t, textCases()) })
	t.Run("Close", func(t *testing.T) { runAutobahn(t, closeCases()) })
}

// Frames used in many cases.
var (
	helloText = cframe(true, OpText, "Hello, world!")
	pingFrame = cframe(true, OpPing, "")
	helloMsg  = msg(OpText, "Hello, world!")
)

func ok(id string, chop int, frames [][]byte, events ...event) abCase {
	return abCase{id: id, frames: frames, chop: chop, events: events, err: io.EOF}
}

func fails(id string, chop int, frames [][]byte, err *Error, events ...event) abCase {
	return abCase{id: id, frames: frames, chop: chop, events: events, err: err, code: err.Code}
}

// Group 1: text and binary messages of 0–65536 bytes.
func framingCases() []abCase {
	var cases []abCase
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536}
	for i, n := range sizes {
		text := strings.Repeat("*", n)
		bin := strings.Repeat("\xfe", n)
		cases = append(cases,
			ok(fmt.Sprintf("1.1.%d", i+1), 0, [][]byte{cframe(true, OpText, text)}, msg(OpText, text)),
			ok(fmt.Sprintf("1.2.%d", i+1), 0, [][]byte{cframe(true, OpBinary, bin)}, msg(OpBinary, bin)))
	}
	text, bin := strings.Repeat("*", 65536), strings.Repeat("\xfe", 65536)
	cases = append(cases,
		ok("1.1.8", 997, [][]byte{cframe(true, OpText, text)}, msg(OpText, text)),
		ok("1.2.8", 997, [][]byte{cframe(true, OpBinary, bin)}, msg(OpBinary, bin)))
	return cases
}

// Group 2: pings and pongs.
func pingCases() []abCase {
	bin := "\x00\xff\xfe\xfd\xfc\xfb\x00\xff"
	p125, p126 := strings.Repeat("\xfe", 125), strings.Repeat("\xfe", 126)
	var tenPings [][]byte
	var tenEvents []event
	for i := range 10 {
		p := fmt.Sprintf("payload-%d", i)
		tenPings = append(tenPings, cframe(true, OpPing, p))
		tenEvents = append(tenEvents, msg(OpPing, p))
	}
	return []abCase{
		ok("2.1", 0, [][]byte{pingFrame}, msg(OpPing, "")),
		ok("2.2", 0, [][]byte{cframe(true, OpPing, "Hello, world!")}, msg(OpPing, "Hello, world!")),
		ok("2.3", 0, [][]byte{cframe(true, OpPing, bin)}, msg(OpPing, bin)),
		ok("2.4", 0, [][]byte{cframe(true, OpPing, p125)}, msg(OpPing, p125)),
		fails("2.5", 0, [][]byte{cframe(true, OpPing, p126)}, ErrControlTooLong),
		ok("2.6", 1, [][]byte{cframe(true, OpPing, p125)}, msg(OpPing, p125)),
		ok("2.7", 0, [][]byte{cframe(true, OpPong, "")}, msg(OpPong, "")),
		ok("2.8", 0, [][]byte{cframe(true, OpPong, "unsolicited pong payload")}, msg(OpPong, "unsolicited pong payload")),
		ok("2.9", 0, [][]byte{cframe(true, OpPong, "ping payload"), cframe(true, OpPing, "ping payload")},
			msg(OpPong, "ping payload"), msg(OpPing, "ping payload")),
		ok("2.10", 0, tenPings, tenEvents...),
		ok("2.11", 1, tenPings, tenEvents...),
	}
}

// Group 3: reserved bits without an extension.
func reservedBitsCases() []abCase {
	return []abCase{
		fails("3.1", 0, [][]byte{rawFrame(true, 1, OpText, "Hello, world!")}, ErrReservedBits),
		fails("3.2", 0, [][]byte{helloText, rawFrame(true, 2, OpText, "Hello, world!"), pingFrame}, ErrReservedBits, helloMsg),
		fails("3.3", perFrame, [][]byte{helloText, rawFrame(true, 3, OpText, "Hello, world!"), pingFrame}, ErrReservedBits, helloMsg),
		fails("3.4", 1, [][]byte{helloText, rawFrame(true, 4, OpText, "Hello, world!"), pingFrame}, ErrReservedBits, helloMsg),
		fails("3.5", 0, [][]byte{rawFrame(true, 5, OpBinary, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff")}, ErrReservedBits),
		fails("3.6", 0, [][]byte{rawFrame(true, 6, OpPing, "Hello, world!")}, ErrReservedBits),
		fails("3.7", 0, [][]byte{rawFrame(true, 7, OpClose, "")}, ErrReservedBits),
	}
}

// Group 4: reserved opcodes, alone and after a valid message.
func opcodeCases() []abCase {
	var cases []abCase
	for i, base := range []Opcode{3, 11} {
		group := fmt.Sprintf("4.%d.", i+1)
		cases = append(cases,
			fails(group+"1", 0, [][]byte{rawFrame(true, 0, base, "")}, ErrReservedOpcode),
			fails(group+"2", 0, [][]byte{rawFrame(true, 0, base+1, "reserved opcode payload")}, ErrReservedOpcode),
			fails(group+"3", 0, [][]byte{helloText, rawFrame(true, 0, base+2, ""), pingFrame}, ErrReservedOpcode, helloMsg),
			fails(group+"4", perFrame, [][]byte{helloText, rawFrame(true, 0, base+3, "reserved opcode payload"), pingFrame}, ErrReservedOpcode, helloMsg),
			fails(group+"5", 1, [][]byte{helloText, rawFrame(true, 0, base+4, "reserved opcode payload"), pingFrame}, ErrReservedOpcode, helloMsg))
	}
	return cases
}

// Group 5: fragmentation.
func fragmentationCases() []abCase {
	frag := func(fin bool, op Opcode, n int) []byte { return cframe(fin, op, fmt.Sprintf("fragment%d", n)) }
	twoFrags := [][]byte{frag(false, OpText, 1), frag(true, OpContinuation, 2)}
	withPing := [][]byte{frag(false, OpText, 1), cframe(true, OpPing, "ping payload"), frag(true, OpContinuation, 2)}
	orphanFin := [][]byte{cframe(true, OpContinuation, "non-continuation payload"), helloText}
	orphanOpen := [][]byte{cframe(false, OpContinuation, "non-continuation payload"), helloText}
	twice := func(f ...[]byte) [][]byte { return append(f, f...) }
	fiveFrags := [][]byte{
		frag(false, OpText, 1), frag(false, OpContinuation, 2), cframe(true, OpPing, "pongme 1!"),
		frag(false, OpContinuation, 3), frag(false, OpContinuation, 4), cframe(true, OpPing, "pongme 2!"),
		frag(true, OpContinuation, 5),
	}
	fiveEvents := []event{msg(OpPing, "pongme 1!"), msg(OpPing, "pongme 2!"), msg(OpText, "fragment1fragment2fragment3fragment4fragment5")}
	return []abCase{
		fails("5.1", 0, [][]byte{frag(false, OpPing, 1), frag(true, OpContinuation, 2)}, ErrControlFragmented),
		fails("5.2", 0, [][]byte{frag(false, OpPong, 1), frag(true, OpContinuation, 2)}, ErrControlFragmented),
		ok("5.3", 0, twoFrags, msg(OpText, "fragment1fragment2")),
		ok("5.4", perFrame, twoFrags, msg(OpText, "fragment1fragment2")),
		ok("5.5", 1, twoFrags, msg(OpText, "fragment1fragment2")),
		ok("5.6", 0, withPing, msg(OpPing, "ping payload"), msg(OpText, "fragment1fragment2")),
		ok("5.7", perFrame, withPing, msg(OpPing, "ping payload"), msg(OpText, "fragment1fragment2")),
		ok("5.8", 1, withPing, msg(OpPing, "ping payload"), msg(OpText, "fragment1fragment2")),
		fails("5.9", 0, orphanFin, ErrOrphanContinuation),
		fails("5.10", perFrame, orphanFin, ErrOrphanContinuation),
		fails("5.11", 1, orphanFin, ErrOrphanContinuation),
		fails("5.12", 0, orphanOpen, ErrOrphanContinuation),
		fails("5.13", perFrame, orphanOpen, ErrOrphanContinuation),
		fails("5.14", 1, orphanOpen, ErrOrphanContinuation),
		fails("5.15", 0, [][]byte{frag(false, OpText, 1), frag(true, OpContinuation, 2), frag(false, OpContinuation, 3), frag(true, OpText, 4)},
			ErrOrphanContinuation, msg(OpText, "fragment1fragment2")),
		fails("5.16", 0, twice(frag(false, OpContinuation, 1), frag(false, OpText, 2), frag(true, OpContinuation, 3)), ErrOrphanContinuation),
		fails("5.17", 0, twice(frag(true, OpContinuation, 1), frag(false, OpText, 2), frag(true, OpContinuation, 3)), ErrOrphanContinuation),
		fails("5.18", 0, [][]byte{frag(false, OpText, 1), frag(true, OpText, 2)}, ErrUnfinishedMessage),
		fails("5.18/binary", 0, [][]byte{frag(false, OpText, 1), frag(true, OpBinary, 2)}, ErrUnfinishedMessage),
		ok("5.19", 0, fiveFrags, fiveEvents...),
		ok("5.20", perFrame, fiveFrags, fiveEvents...),
	}
}

// Group 7: close frames.
func closeCases() []abCase {
	long := strings.Repeat("BAsd7&jh23", 256<<10/10)
	closeNormal := closeFrame(CloseNormal, "")
	closeEvent := msg(OpClose, "\x03\xe8")
	cases := []abCase{
		ok("7.1.1", 0, [][]byte{cframe(true, OpText, "Hello World!"), closeNormal}, msg(OpText, "Hello World!"), closeEvent),
		ok("7.1.2", 0, [][]byte{closeNormal, closeNormal}, closeEvent, closeEvent),
		ok("7.1.3", 0, [][]byte{closeNormal, pingFrame}, closeEvent, msg(OpPing, "")),
		ok("7.1.4", 0, [][]byte{closeNormal, helloText}, closeEvent, helloMsg),
		ok("7.1.5", 0, [][]byte{cframe(false, OpText, "fragment1"), closeNormal, cframe(true, OpContinuation, "fragment2")},
			closeEvent, msg(OpText, "fragment1fragment2")),
		{id: "7.1.6", frames: [][]byte{cframe(true, OpText, long), closeNormal, pingFrame},
			events: []event{msg(OpText, long), closeEvent, msg(OpPing, "")}, err: io.EOF, big: true},
		ok("7.3.1", 0, [][]byte{cframe(true, OpClose, "")}, msg(OpClose, "")),
		fails("7.3.2", 0, [][]byte{cframe(true, OpClose, "a")}, ErrClosePayloadLen),
		ok("7.3.3", 0, [][]byte{closeNormal}, closeEvent),
		ok("7.3.4", 0, [][]byte{closeFrame(CloseNormal, "Hello World!")}, msg(OpClose, "\x03\xe8Hello World!")),
		ok("7.3.5", 0, [][]byte{closeFrame(CloseNormal, strings.Repeat("*", 123))}, msg(OpClose, "\x03\xe8"+strings.Repeat("*", 123))),
		fails("7.3.6", 0, [][]byte{closeFrame(CloseNormal, strings.Repeat("*", 124))}, ErrControlTooLong),
		fails("7.5.1", 0, [][]byte{closeFrame(CloseNormal, unhex("cebae1bdb9cf83cebcceb5eda080656469746564"))}, ErrInvalidCloseReason),
	}
	// 7.7 (valid codes, echoed), 7.9 (invalid codes) and 7.13
	// (informational in Autobahn: codes above 4999), named by code.
	for _, c := range closeCodes {
		f := [][]byte{closeFrame(c.code, "")}
		switch {
		case c.code > 4999:
			cases = append(cases, fails(fmt.Sprintf("7.13/%d", c.code), 0, f, ErrCloseCode))
		case c.valid:
			cases = append(cases, ok(fmt.Sprintf("7.7/%d", c.code), 0, f, msg(OpClose, string(AppendClose(nil, c.code, "")))))
		default:
			cases = append(cases, fails(fmt.Sprintf("7.9/%d", c.code), 0, f, ErrCloseCode))
		}
	}
	return cases
}
