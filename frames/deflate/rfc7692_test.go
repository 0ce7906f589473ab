package deflate

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"wsbridge/frames"
)

// clientReader returns a client-role Reader of wire (unmasked frames).
func clientReader(e *Extension, p Params, wire []byte) *Reader {
	fr := frames.NewReader(bufio.NewReader(bytes.NewReader(wire)), frames.RoleClient)
	return e.NewReader(fr, frames.RoleClient, p)
}

// The examples of RFC 7692 §7.2.3, byte for byte, as a client reads them.
func TestRFC7692Examples(t *testing.T) {
	hello := event{frames.OpText, "Hello"}
	tests := []struct {
		name string
		p    Params
		wire string
		want []event
	}{
		{"7.2.3.1 one frame", Params{}, "c1 07 f2 48 cd c9 c9 07 00", []event{hello}},
		{"7.2.3.1 fragmented", Params{}, "41 03 f2 48 cd 80 04 c9 c9 07 00", []event{hello}},
		{"7.2.3.2 sharing the window", Params{}, "c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00", []event{hello, hello}},
		{"7.2.3.2 no sharing", Params{ServerNoContextTakeover: true}, "c1 07 f2 48 cd c9 c9 07 00 c1 07 f2 48 cd c9 c9 07 00", []event{hello, hello}},
		{"7.2.3.3 stored block", Params{}, "c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00", []event{hello}},
		{"7.2.3.4 BFINAL", Params{}, "c1 08 f3 48 cd c9 c9 07 00 00", []event{hello}},
		{"7.2.3.5 two blocks", Params{}, "c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00", []event{hello}},
		{"7.2.3.6 empty message", Params{}, "c1 01 00", []event{{frames.OpText, ""}}},
		{"empty payload", Params{}, "c2 00", []event{{frames.OpBinary, ""}}},
		{"BFINAL then the shared window", Params{}, "c1 08 f3 48 cd c9 c9 07 00 00 c1 05 f2 00 11 00 00", []event{hello, hello}},
	}
	e := newExt(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := clientReader(e, tt.p, unhex(tt.wire))
			got, err := readEvents(r, 3)
			if err != nil {
				t.Fatal(err)
			}
			if d := diffEvents(got, tt.want); d != "" {
				t.Error(d)
			}
		})
	}
}

// The second message of §7.2.3.2 refers into the first: a Reader that
// resets between messages (no context takeover agreed) cannot read it.
func TestContextTakeoverNeeded(t *testing.T) {
	e := newExt(t, Options{})
	r := clientReader(e, Params{ServerNoContextTakeover: true}, unhex("c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00"))
	_, err := readEvents(r, 100)
	checkErr(t, err, ErrCorrupt, frames.CloseInvalidPayload)
}

// After a final block only §7.2.3.4's 0x00 octet may follow: more data
// would be lost.
func TestDataAfterFinalBlock(t *testing.T) {
	e := newExt(t, Options{})
	for _, wire := range []string{
		"c1 08 f3 48 cd c9 c9 07 00 01",                            // not 0x00
		"c1 09 f3 48 cd c9 c9 07 00 00 00",                         // two octets
		"41 08 f3 48 cd c9 c9 07 00 00 80 07 f2 48 cd c9 c9 07 00", // a second stream
	} {
		_, err := readEvents(clientReader(e, Params{}, unhex(wire)), 100)
		checkErr(t, err, ErrCorrupt, frames.CloseInvalidPayload)
	}
}

// A Writer's output for "Hello" is a valid RFC 7692 message: RSV1, and a
// payload that does not end with the sync marker.
func TestWriterHello(t *testing.T) {
	e := newExt(t, Options{})
	var buf bytes.Buffer
	w := e.NewWriter(frames.NewWriter(&buf, frames.RoleServer), frames.RoleServer, Params{})
	if err := w.WriteMessage(frames.OpText, []byte("Hello")); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if b[0] != 0xc1 || int(b[1]) != len(b)-2 {
		t.Fatalf("got frame % x, want c1 and the payload length", b)
	}
	if bytes.HasSuffix(b, syncMarker) {
		t.Errorf("payload % x ends with the sync marker", b[2:])
	}
	got, err := readEvents(clientReader(e, Params{}, b), 10)
	if err != nil || len(got) != 1 || got[0].data != "Hello" {
		t.Errorf("got %v, %v", got, err)
	}
}

func unhex(s string) []byte {
	var b []byte
	for f := range strings.FieldsSeq(s) {
		var v byte
		for _, c := range []byte(f) {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= c - '0'
			default:
				v |= c - 'a' + 10
			}
		}
		b = append(b, v)
	}
	return b
}
