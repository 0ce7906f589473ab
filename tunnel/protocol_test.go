package tunnel

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"wsbridge/frames"
)

var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// cf is a well-formed (masked) client frame.
func cf(fin bool, op frames.Opcode, payload []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		return writeRaw(w, frames.Header{Fin: fin, Op: op, Masked: true, Mask: testMask}, payload)
	}
}

func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// TestProtocolErrors sends every kind of malformed frame after a good
// message, and checks the Close code on the wire, that the good message
// reached the target and that the target is closed.
func TestProtocolErrors(t *testing.T) {
	const maxMessage = 1000
	type sender = func(io.Writer) error
	type protoCase = struct {
		name string
		send []sender
		code frames.CloseCode
		fwd  int // payload bytes streamed to the target before the error
	}
	cases := []protoCase{
		{"unmasked", []sender{func(w io.Writer) error {
			return writeRaw(w, frames.Header{Fin: true, Op: frames.OpBinary}, []byte("x"))
		}}, 1002, 0},
		{"text", []sender{cf(true, frames.OpText, []byte("hi"))}, 1003, 0},
		{"text fragment", []sender{cf(false, frames.OpText, []byte("hi"))}, 1003, 0},
		{"orphan continuation", []sender{cf(true, frames.OpContinuation, []byte("x"))}, 1002, 0},
		{"data frame mid-message", []sender{cf(false, frames.OpBinary, []byte("a")), cf(true, frames.OpBinary, []byte("b"))}, 1002, 1},
		{"ping 126 B", []sender{cf(true, frames.OpPing, make([]byte, 126))}, 1002, 0},
		{"close 126 B", []sender{cf(true, frames.OpClose, closePayload(1000, string(make([]byte, 124))))}, 1002, 0},
		{"fragmented ping", []sender{cf(false, frames.OpPing, nil)}, 1002, 0},
		{"fragmented close", []sender{cf(false, frames.OpClose, closePayload(1000, ""))}, 1002, 0},
		{"1-byte close", []sender{cf(true, frames.OpClose, []byte{3})}, 1002, 0},
		{"invalid UTF-8 close reason", []sender{cf(true, frames.OpClose, closePayload(1000, "\xff\xfe"))}, 1007, 0},
		{"truncated UTF-8 close reason", []sender{cf(true, frames.OpClose, closePayload(1000, "caf\xc3"))}, 1007, 0},
		{"64-bit length top bit", []sender{func(w io.Writer) error {
			_, err := w.Write([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4})
			return err
		}}, 1002, 0},
		{"message over limit", []sender{cf(true, frames.OpBinary, make([]byte, maxMessage+1))}, 1009, 0},
		{"fragments over limit", []sender{
			cf(false, frames.OpBinary, make([]byte, 600)),
			cf(false, frames.OpContinuation, make([]byte, 400)),
			cf(true, frames.OpContinuation, make([]byte, 1)),
		}, 1009, 1000},
	}
	for _, rsv := range []byte{frames.Rsv1, frames.Rsv2, frames.Rsv3} {
		cases = append(cases, protoCase{fmt.Sprintf("rsv %#x", rsv), []sender{func(w io.Writer) error {
			return writeRaw(w, frames.Header{Fin: true, Rsv: rsv, Op: frames.OpBinary, Masked: true, Mask: testMask}, []byte("x"))
		}}, 1002, 0})
	}
	for _, op := range []frames.Opcode{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		cases = append(cases, protoCase{fmt.Sprintf("opcode %d", op), []sender{cf(true, op, []byte("x"))}, 1002, 0})
	}
	for _, code := range []uint16{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		cases = append(cases, protoCase{fmt.Sprintf("close code %d", code), []sender{cf(true, frames.OpClose, closePayload(code, ""))}, 1002, 0})
	}

	ended := make(chan endEvent, 1)
	tgt := startTarget(t, readerTarget(ended))
	cfg := Config{Target: tgt.addr, MaxMessageSize: maxMessage}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWS(t, b.addr)
			good := []byte("good")
			if err := c.wr.WriteMessage(frames.OpBinary, good); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			for _, s := range tc.send {
				s(&buf)
			}
			if _, err := c.conn.Write(buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			code, reason, err := c.readUntilClose(io.Discard)
			if err != nil {
				t.Fatalf("reading the Close: %v", err)
			}
			if code != tc.code || reason == "" {
				t.Errorf("got Close %d %q, want %d with a reason", code, reason, tc.code)
			}
			c.expectEOF(t)
			ev := recv(t, ended, "the target's close")
			want := int64(len(good) + tc.fwd)
			if ev.err != io.EOF || ev.n != want {
				t.Errorf("target: got %d B then %v, want %d B then EOF", ev.n, ev.err, want)
			}
			rec.checkEnd(t, "server", int(tc.code), want, 0)
		})
	}
}

// TestControlBetweenFragments: a ping between the fragments of a message is
// answered at once, with its payload, before the message ends; a pong is
// ignored; the message arrives whole.
func TestControlBetweenFragments(t *testing.T) {
	res := make(chan sinkResult, 1)
	tgt := startTarget(t, sinkTarget(res, nil))
	b := startBridge(t, Config{Target: tgt.addr}, nil)
	c := dialWS(t, b.addr)
	var sent bytes.Buffer
	for i := range 5 {
		part := bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1))
		sent.Write(part)
		op := frames.OpContinuation
		if i == 0 {
			op = frames.OpBinary
		}
		if err := c.wr.WriteFragment(op, part, i == 4); err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			break
		}
		payload := []byte(fmt.Sprintf("ping %d", i))
		c.wr.WriteControl(frames.OpPong, []byte("unsolicited"))
		c.wr.WriteControl(frames.OpPing, payload)
		// The message is still open: the pong must come now.
		h, err := c.rd.NextFrame()
		if err != nil {
			t.Fatal(err)
		}
		if h.Op != frames.OpPong || !bytes.Equal(c.rd.ControlPayload(), payload) {
			t.Fatalf("got %v %q, want pong %q", h.Op, c.rd.ControlPayload(), payload)
		}
	}
	c.wr.WriteClose(frames.CloseNormal, "")
	r := recv(t, res, "the target's EOF")
	if r.n != int64(sent.Len()) || r.sum != [32]byte(sum(sent.Bytes())) {
		t.Fatalf("target got %d B, want the %d B of the message", r.n, sent.Len())
	}
	c.expectClose(t, frames.CloseNormal, "")
}
