package tunnel

import (
	"bytes"
	"io"
	"net"
	"testing"

	"wsbridge/frames"
)

func TestSmokeEcho(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	_, addr := testServer(t, Config{Target: ln.Addr().String()})
	c := dialWS(t, addr, "Sec-WebSocket-Protocol: binary")
	if err := c.wr.WriteMessage(frames.OpBinary, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.wr.WriteClose(frames.CloseNormal, "bye"); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	code, reason, err := c.readUntilClose(&got)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != "hello" || code != 1000 || reason != "bye" {
		t.Fatalf("got %q %d %q", got.String(), code, reason)
	}
}
