package deflate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/flate"

	"wsbridge/frames"
)

func newExt(t testing.TB, o Options) *Extension {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// pipe is one direction of a connection in memory: what a client-role
// Writer sends, for a server-role Reader.
type pipe struct {
	buf bytes.Buffer
	fw  *frames.Writer
	w   *Writer
}

func newPipe(e *Extension, p Params) *pipe {
	pp := &pipe{}
	pp.fw = frames.NewWriter(&pp.buf, frames.RoleClient)
	pp.w = e.NewWriter(pp.fw, frames.RoleClient, p)
	return pp
}

// reader returns a server-role Reader over what was written so far.
func (pp *pipe) reader(e *Extension, p Params, limit int64) *Reader {
	fr := frames.NewReader(bufio.NewReader(bytes.NewReader(pp.buf.Bytes())), frames.RoleServer)
	fr.MaxMessage = limit
	return e.NewReader(fr, frames.RoleServer, p)
}

// event is a message (reassembled) or a control frame seen by a Reader.
type event struct {
	op   frames.Opcode
	data string
}

func (ev event) String() string {
	if len(ev.data) > 40 {
		return fmt.Sprintf("%v(%d bytes)", ev.op, len(ev.data))
	}
	return fmt.Sprintf("%v(%q)", ev.op, ev.data)
}

// readEvents reads r to the end of its input, in chunks of chunk bytes.
func readEvents(r *Reader, chunk int) ([]event, error) {
	var evs []event
	var msg bytes.Buffer
	var op frames.Opcode
	buf := make([]byte, chunk)
	for {
		h, err := r.NextFrame()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		if h.Op.IsControl() {
			evs = append(evs, event{h.Op, string(r.ControlPayload())})
			continue
		}
		if h.Op != frames.OpContinuation {
			op = h.Op
		}
		for {
			n, err := r.Read(buf)
			msg.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				return evs, err
			}
		}
		if r.MessageOp() == 0 {
			evs = append(evs, event{op, msg.String()})
			msg.Reset()
		}
	}
}

func diffEvents(got, want []event) string {
	if fmt.Sprint(got) == fmt.Sprint(want) {
		return ""
	}
	return fmt.Sprintf("got events %v\nwant %v", got, want)
}

// checkErr checks that err is want (errors.Is) and carries code.
func checkErr(t *testing.T, err, want error, code frames.CloseCode) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
	if got := frames.CloseCodeOf(err); got != code {
		t.Fatalf("got close code %v, want %v", got, code)
	}
}

// frame encodes one client frame (masked) with any RSV bits.
func frame(fin bool, rsv byte, op frames.Opcode, payload []byte) []byte {
	h := frames.Header{Fin: fin, Rsv: rsv, Op: op, Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: int64(len(payload))}
	b := make([]byte, frames.HeaderLen(h)+len(payload))
	n := frames.PutHeader(b, h)
	copy(b[n:], payload)
	frames.Mask(h.Mask, 0, b[n:])
	return b
}

// serverReader returns a server-role Reader of wire with params p.
func serverReader(e *Extension, p Params, wire []byte, limit int64) *Reader {
	fr := frames.NewReader(bufio.NewReader(bytes.NewReader(wire)), frames.RoleServer)
	fr.MaxMessage = limit
	return e.NewReader(fr, frames.RoleServer, p)
}

// deflateRaw returns data compressed on its own, as the payload of a
// message: flushed, without the final sync marker.
func deflateRaw(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, 1)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(data)
	zw.Flush()
	b := buf.Bytes()
	if !bytes.HasSuffix(b, syncMarker) {
		t.Fatalf("flush ended with % x", b[max(0, len(b)-4):])
	}
	return b[:len(b)-4]
}
