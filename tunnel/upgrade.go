package tunnel

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"

	"wsbridge/frames"
)

// HandshakeError is a refused upgrade: the HTTP status and one line saying
// why, sent to the client and logged.
type HandshakeError struct {
	Status int
	Msg    string
	Header http.Header // extra response headers (WWW-Authenticate, Retry-After), may be nil
}

// Error implements error.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("tunnel: handshake refused (%d): %s", e.Status, e.Msg)
}

// Subprotocol is the only subprotocol the bridge speaks: raw binary frames.
const Subprotocol = "binary"

// IsUpgrade reports whether r asks for a WebSocket (an Upgrade header
// naming "websocket"). Such a request is handled as a WebSocket attempt and
// refused with a 4xx if anything else is wrong; any other request is left
// to the page handler.
func IsUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Upgrade", "websocket")
}

// Handshake is a checked upgrade request.
type Handshake struct {
	Key        string // Sec-WebSocket-Key
	Protocol   string // the subprotocol to answer with, "" for none
	Extensions string // the Sec-WebSocket-Extensions answer, "" for none
}

// CheckUpgrade checks r against RFC 6455 §4.2.1. requireBinary refuses a
// client that offers subprotocols but not "binary" (websockify does the
// same; browsers would fail such a connection anyway).
func CheckUpgrade(r *http.Request, requireBinary bool) (Handshake, *HandshakeError) {
	var hs Handshake
	// §4.2.1 1: "An HTTP/1.1 or higher GET request".
	if r.Method != http.MethodGet {
		return hs, &HandshakeError{Status: http.StatusMethodNotAllowed, Msg: "WebSocket upgrade must use GET"}
	}
	if !r.ProtoAtLeast(1, 1) {
		return hs, &HandshakeError{Status: http.StatusBadRequest, Msg: "WebSocket upgrade needs HTTP/1.1"}
	}
	// 2: a Host header (net/http already refuses HTTP/1.1 without one).
	if r.Host == "" {
		return hs, &HandshakeError{Status: http.StatusBadRequest, Msg: "missing Host header"}
	}
	// 3, 4: Upgrade: websocket and Connection: Upgrade, as tokens.
	if !IsUpgrade(r) {
		return hs, &HandshakeError{Status: http.StatusBadRequest, Msg: `missing "Upgrade: websocket"`}
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		return hs, &HandshakeError{Status: http.StatusBadRequest, Msg: `missing "Connection: Upgrade"`}
	}
	// 6: "Sec-WebSocket-Version ... MUST be 13"; otherwise §4.4 asks for
	// the versions we support in the reply, which refuse writes.
	if v := r.Header.Values("Sec-Websocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		return hs, &HandshakeError{Status: http.StatusUpgradeRequired, Msg: "unsupported WebSocket version (need 13)"}
	}
	// 5: the key "when decoded, is 16 bytes in length".
	keys := r.Header.Values("Sec-Websocket-Key")
	if len(keys) != 1 || !frames.CheckKey(strings.TrimSpace(keys[0])) {
		return hs, &HandshakeError{Status: http.StatusBadRequest, Msg: "missing or malformed Sec-WebSocket-Key"}
	}
	hs.Key = strings.TrimSpace(keys[0])
	offered := false
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			offered = true
			if p == Subprotocol {
				hs.Protocol = Subprotocol
			}
		}
	}
	if offered && hs.Protocol == "" && requireBinary {
		return hs, &HandshakeError{Status: http.StatusBadRequest, Msg: `unsupported subprotocol: this bridge speaks only "binary" (or none)`}
	}
	return hs, nil
}

// Refuse answers a refused upgrade with its status and one line of text.
func Refuse(w http.ResponseWriter, e *HandshakeError) {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	if e.Status == http.StatusUpgradeRequired {
		h.Set("Sec-WebSocket-Version", "13")
	}
	if e.Status == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodGet)
	}
	h.Set("Connection", "close")
	http.Error(w, e.Msg, e.Status)
}

// Accept hijacks the connection and writes the 101 response. The returned
// reader holds any bytes the client sent after its request, and must be
// read before the connection.
func Accept(w http.ResponseWriter, hs Handshake) (net.Conn, *bufio.Reader, error) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("tunnel: hijack: %w", err)
	}
	var buf [384]byte
	if _, err := conn.Write(append101(buf[:0], hs)); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("tunnel: write 101: %w", err)
	}
	return conn, brw.Reader, nil
}

// append101 appends the 101 response that accepts hs.
func append101(b []byte, hs Handshake) []byte {
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = append(b, frames.AcceptKey(hs.Key)...)
	if hs.Protocol != "" {
		b = append(b, "\r\nSec-WebSocket-Protocol: "...)
		b = append(b, hs.Protocol...)
	}
	if hs.Extensions != "" {
		b = append(b, "\r\nSec-WebSocket-Extensions: "...)
		b = append(b, hs.Extensions...)
	}
	return append(b, "\r\n\r\n"...)
}

// headerHasToken reports whether any value of header name, read as a comma
// separated list, contains token (case-insensitively). Firefox sends
// "Connection: keep-alive, Upgrade".
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
