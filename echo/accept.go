package echo

import (
	"bufio"
	"fmt"
	"net"
	"net/http"

	"wsbridge/frames"
	"wsbridge/tunnel"
)

// accept hijacks the connection and writes the 101, answering ext in
// Sec-WebSocket-Extensions ("" for none). Without an extension it is
// tunnel.Accept, which writes no extension header; the reader returned
// holds what the client sent after its request.
func accept(w http.ResponseWriter, hs tunnel.Handshake, ext string) (net.Conn, *bufio.Reader, error) {
	if ext == "" {
		return tunnel.Accept(w, hs)
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("echo: hijack: %w", err)
	}
	b := fmt.Appendf(nil, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", frames.AcceptKey(hs.Key))
	if hs.Protocol != "" {
		b = fmt.Appendf(b, "Sec-WebSocket-Protocol: %s\r\n", hs.Protocol)
	}
	b = fmt.Appendf(b, "Sec-WebSocket-Extensions: %s\r\n\r\n", ext)
	if _, err := conn.Write(b); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("echo: write 101: %w", err)
	}
	return conn, brw.Reader, nil
}
