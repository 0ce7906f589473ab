package deflate_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
)

// A server agrees to a browser's offer and answers in its 101; the agreed
// Params then wrap the connection's frames.Reader and frames.Writer.
func ExampleExtension_Negotiate() {
	ext, err := deflate.New(deflate.Options{ServerNoContextTakeover: true})
	if err != nil {
		panic(err)
	}
	// r.Header.Values("Sec-WebSocket-Extensions") from Chromium:
	p, answer, ok := ext.Negotiate([]string{"permessage-deflate; client_max_window_bits"})
	fmt.Println(ok)
	fmt.Println("Sec-WebSocket-Extensions:", answer)
	var conn bytes.Buffer // the hijacked connection
	w := ext.NewWriter(frames.NewWriter(&conn, frames.RoleServer), frames.RoleServer, p)
	defer w.Release()
	w.WriteMessage(frames.OpText, []byte("Hello, Hello, Hello"))
	fmt.Printf("% x\n", conn.Bytes()[:1])
	// Output:
	// true
	// Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover
	// c1
}

// A client offers, checks the server's answer, and reads compressed
// messages as they come, like a frames.Reader.
func ExampleExtension_Accept() {
	ext, err := deflate.New(deflate.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println("Sec-WebSocket-Extensions:", ext.Offer())
	// resp.Header.Values("Sec-WebSocket-Extensions") from the 101:
	p, ok, err := ext.Accept([]string{"permessage-deflate"})
	if err != nil || !ok {
		panic(err) // an invalid answer fails the connection
	}
	// "Hello" as the server sends it (RFC 7692 §7.2.3.1).
	wire := []byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	fr := frames.NewReader(bufio.NewReader(bytes.NewReader(wire)), frames.RoleClient)
	fr.MaxMessage = 1 << 20 // on the wire, and inflated
	r := ext.NewReader(fr, frames.RoleClient, p)
	defer r.Release()
	h, err := r.NextFrame()
	if err != nil {
		fmt.Println("fail the connection with", frames.CloseCodeOf(err))
		return
	}
	msg, err := io.ReadAll(r)
	fmt.Printf("%v %q %v, ended %v\n", h.Op, msg, err, r.MessageOp() == 0)
	// Output:
	// Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits
	// text "Hello" <nil>, ended true
}
