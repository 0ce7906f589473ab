package frames

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// Group 6: UTF-8 in text messages, whole and split inside code points.
func textCases() []abCase {
	hello := "Hello-µ@ßöäüàá-UTF-8!!"
	kosme := unhex("cebae1bdb9cf83cebcceb5")
	bad := unhex("cebae1bdb9cf83cebcceb5eda080656469746564")
	cut := strings.Index(hello, "ü")
	cases := []abCase{
		ok("6.1.1", 0, [][]byte{cframe(true, OpText, "")}, msg(OpText, "")),
		ok("6.1.2", 0, [][]byte{cframe(false, OpText, ""), cframe(false, OpContinuation, ""), cframe(true, OpContinuation, "")},
			msg(OpText, "")),
		ok("6.1.3", 0, [][]byte{cframe(false, OpText, ""), cframe(false, OpContinuation, "middle frame payload"), cframe(true, OpContinuation, "")},
			msg(OpText, "middle frame payload")),
		ok("6.2.1", 0, [][]byte{cframe(true, OpText, hello)}, msg(OpText, hello)),
		ok("6.2.2", 0, [][]byte{cframe(false, OpText, hello[:cut]), cframe(true, OpContinuation, hello[cut:])}, msg(OpText, hello)),
		ok("6.2.3", 0, octetFrames(hello), msg(OpText, hello)),
		ok("6.2.4", 0, octetFrames(kosme), msg(OpText, kosme)),
		fails("6.3.1", 0, [][]byte{cframe(true, OpText, bad)}, ErrInvalidUTF8),
		fails("6.3.2", 0, octetFrames(bad), ErrInvalidUTF8),
	}
	// 6.5–6.23: the Kuhn cases in one frame, and (beyond Autobahn) in
	// one-octet frames.
	for _, u := range utf8Cases {
		p := unhex(u.hex)
		whole := [][]byte{cframe(true, OpText, p)}
		if u.valid {
			cases = append(cases, ok(u.id, 0, whole, msg(OpText, p)), ok(u.id+"/octets", 0, octetFrames(p), msg(OpText, p)))
		} else {
			cases = append(cases, fails(u.id, 0, whole, ErrInvalidUTF8), fails(u.id+"/octets", 0, octetFrames(p), ErrInvalidUTF8))
		}
	}
	// Binary messages are not checked.
	cases = append(cases, ok("binary", 0, [][]byte{cframe(true, OpBinary, bad)}, msg(OpBinary, bad)))
	return cases
}

// octetFrames sends s as a text message in frames of one byte each.
func octetFrames(s string) [][]byte {
	var f [][]byte
	for i := range len(s) {
		op := OpContinuation
		if i == 0 {
			op = OpText
		}
		f = append(f, cframe(i == len(s)-1, op, s[i:i+1]))
	}
	return f
}

// Group 6.4: invalid UTF-8 fails fast. The stream is cut right after the
// first invalid byte, with the message (and in 6.4.3–4 the frame)
// unfinished: the Reader must report 1007 from what it has, not wait for
// the rest. It hands out the valid bytes before the invalid one.
func TestAutobahnFailFast(t *testing.T) {
	kosme := unhex("cebae1bdb9cf83cebcceb5")
	one := unhex("cebae1bdb9cf83cebcceb5f4908080656469746564")
	tests := []struct {
		id     string
		frames [][]byte
	}{
		{"6.4.1", [][]byte{cframe(false, OpText, kosme), cframe(false, OpContinuation, unhex("f4908080")), cframe(true, OpContinuation, unhex("656469746564"))}},
		{"6.4.2", [][]byte{cframe(false, OpText, kosme+"\xf4"), cframe(false, OpContinuation, "\x90"), cframe(true, OpContinuation, unhex("8080656469746564"))}},
		{"6.4.3", [][]byte{cframe(true, OpText, one)}},
		{"6.4.4", [][]byte{cframe(true, OpText, one)}},
		{"surrogate", [][]byte{cframe(false, OpText, "ok \xed"), cframe(true, OpContinuation, "\xa0\x80 and more")}},
		{"lone continuation", [][]byte{cframe(false, OpText, "ok"), cframe(false, OpContinuation, "ok\x80rest"), cframe(true, OpContinuation, "end")}},
	}
	for _, tt := range tests {
		// Locate the first invalid byte in the stream by decoding the
		// frames: payload offsets map back to stream offsets.
		var text []byte
		var streamPos []int
		off := 0
		for _, f := range tt.frames {
			h, err := ReadHeader(bytes.NewReader(f), new([MaxHeaderLen]byte))
			if err != nil {
				t.Fatal(err)
			}
			hl := HeaderLen(h)
			p := bytes.Clone(f[hl:])
			Mask(h.Mask, 0, p)
			for i := range p {
				streamPos = append(streamPos, off+hl+i)
			}
			text = append(text, p...)
			off += len(f)
		}
		bad := failIndex(text)
		if bad < 0 {
			t.Fatalf("%s: table has no invalid byte", tt.id)
		}
		stream := cat(tt.frames...)[:streamPos[bad]+1]
		for _, oneByte := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/onebyte=%v", tt.id, oneByte), func(t *testing.T) {
				var src io.Reader = &stallReader{bytes.Clone(stream)}
				if oneByte {
					src = iotest.OneByteReader(src)
				}
				r := NewReader(src, RoleServer)
				var got []byte
				buf := make([]byte, 64)
				var err error
				for err == nil {
					if _, err = r.NextFrame(); err != nil {
						break
					}
					for {
						var n int
						n, err = r.Read(buf)
						got = append(got, buf[:n]...)
						if err != nil {
							break
						}
					}
					if err == io.EOF {
						err = nil
					}
				}
				checkErr(t, err, ErrInvalidUTF8, CloseInvalidPayload)
				if !bytes.Equal(got, text[:bad]) {
					t.Errorf("got valid bytes % x, want % x", got, text[:bad])
				}
			})
		}
	}
}
