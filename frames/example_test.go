package frames_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"wsbridge/frames"
)

// A server reads what a client sent: a masked text message (the example of
// RFC 6455 §5.7), then a Close. Data frames stream through Read; control
// frames come whole from ControlPayload.
func ExampleReader() {
	wire := []byte{
		0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, // text "Hello"
		0x88, 0x82, 0x11, 0x22, 0x33, 0x44, 0x12, 0xca, // close 1000
	}
	r := frames.NewReader(bufio.NewReader(bytes.NewReader(wire)), frames.RoleServer)
	r.MaxMessage = 1 << 20
	for {
		h, err := r.NextFrame()
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Println("fail the connection with", frames.CloseCodeOf(err))
			return
		}
		switch h.Op {
		case frames.OpClose:
			code, reason, _ := frames.ParseClose(r.ControlPayload())
			fmt.Printf("close %v %q\n", code, reason)
		case frames.OpPing, frames.OpPong:
			fmt.Printf("%v %q\n", h.Op, r.ControlPayload())
		default:
			var sb strings.Builder
			if _, err := io.Copy(&sb, r); err != nil {
				fmt.Println("fail the connection with", frames.CloseCodeOf(err))
				return
			}
			fmt.Printf("%v frame, fin %v: %q\n", h.Op, h.Fin, sb.String())
		}
	}
	// Output:
	// text frame, fin true: "Hello"
	// close 1000 ""
}

// A protocol violation comes back as an error carrying the close code to
// send before dropping the connection: here a client frame that is not
// masked.
func ExampleCloseCodeOf() {
	wire := []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}
	r := frames.NewReader(bytes.NewReader(wire), frames.RoleServer)
	_, err := r.NextFrame()
	fmt.Println(err)
	fmt.Println(frames.CloseCodeOf(err))
	// Output:
	// frames: client frame not masked
	// 1002
}

// A client writes a text message in two fragments with a ping between
// them; every frame is masked with a fresh key. The server's Reader hands
// the ping over between the fragments.
func ExampleWriter() {
	var wire bytes.Buffer
	w := frames.NewWriter(&wire, frames.RoleClient)
	_ = w.WriteFragment(frames.OpText, []byte("Hello, "), false)
	_ = w.WriteControl(frames.OpPing, []byte("ping"))
	_ = w.WriteFragment(frames.OpText, []byte("world"), true)

	r := frames.NewReader(&wire, frames.RoleServer)
	var msg []byte
	for {
		h, err := r.NextFrame()
		if err != nil {
			break
		}
		fmt.Printf("%v fin=%v masked=%v length=%d\n", h.Op, h.Fin, h.Masked, h.Length)
		if h.Op.IsControl() {
			continue
		}
		p, _ := io.ReadAll(r)
		msg = append(msg, p...)
	}
	fmt.Printf("message: %q\n", msg)
	// Output:
	// text fin=false masked=true length=7
	// ping fin=true masked=true length=4
	// continuation fin=true masked=true length=5
	// message: "Hello, world"
}

// The bridge's target-to-client path: bytes read from the target land after
// MaxHeaderLen bytes of room, and the header goes in front of them, so that
// the frame leaves in one Write with no copy.
func ExampleWriter_WriteFrameInPlace() {
	target := strings.NewReader("hello")
	var wire bytes.Buffer
	w := frames.NewWriter(&wire, frames.RoleServer)

	buf := make([]byte, frames.MaxHeaderLen+32<<10)
	n, _ := target.Read(buf[frames.MaxHeaderLen:])
	_ = w.WriteFrameInPlace(frames.OpBinary, true, buf[:frames.MaxHeaderLen+n])
	fmt.Printf("% x\n", wire.Bytes())
	// Output:
	// 82 05 68 65 6c 6c 6f
}

// The handshake's Sec-WebSocket-Accept for the sample key of RFC 6455 §1.3.
func ExampleAcceptKey() {
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	fmt.Println(frames.CheckKey(key), frames.AcceptKey(key))
	// Output:
	// true s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}
