package frames

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// CloseCode is a WebSocket close status code (RFC 6455 §7.4).
type CloseCode uint16

// Close codes from RFC 6455 §7.4.1 and the IANA registry.
const (
	CloseNormal          CloseCode = 1000
	CloseGoingAway       CloseCode = 1001
	CloseProtocolError   CloseCode = 1002
	CloseUnsupportedData CloseCode = 1003
	CloseNoStatus        CloseCode = 1005 // never sent: "no code in the Close frame"
	CloseAbnormal        CloseCode = 1006 // never sent: "connection dropped"
	CloseInvalidPayload  CloseCode = 1007
	ClosePolicyViolation CloseCode = 1008
	CloseMessageTooBig   CloseCode = 1009
	CloseMandatoryExt    CloseCode = 1010
	CloseInternalError   CloseCode = 1011
	CloseServiceRestart  CloseCode = 1012
	CloseTryAgainLater   CloseCode = 1013
	CloseBadGateway      CloseCode = 1014
	CloseTLSHandshake    CloseCode = 1015 // never sent
)

// String returns the code's number.
func (c CloseCode) String() string { return strconv.Itoa(int(c)) }

// ValidOnWire reports whether c may appear in a Close frame. RFC 6455 §7.4:
// 1005, 1006 and 1015 are never sent; 0–999 are unused; 1000–2999 are for
// the protocol, of which 1000–1003, 1007–1011 are defined by the RFC and
// 1012–1014 were registered with IANA later; 3000–4999 are for libraries
// and applications. Everything else is a protocol error.
func (c CloseCode) ValidOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003:
		return true
	case c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// ParseClose checks a Close frame's payload and returns its code and
// reason. An empty payload gives CloseNoStatus. RFC 6455 §5.5.1: a body, if
// present, starts with a 2-byte code and the rest is UTF-8 text.
func ParseClose(payload []byte) (CloseCode, string, error) {
	switch len(payload) {
	case 0:
		return CloseNoStatus, "", nil
	case 1:
		return 0, "", ErrClosePayloadLen
	}
	code := CloseCode(binary.BigEndian.Uint16(payload))
	if !code.ValidOnWire() {
		return code, "", ErrCloseCode
	}
	reason := payload[2:]
	if !utf8.Valid(reason) {
		return code, "", ErrInvalidCloseReason
	}
	return code, string(reason), nil
}

// AppendClose appends a Close payload for code and reason to dst. A code of
// CloseNoStatus gives an empty payload. The reason is cut to fit the
// 125-byte control frame limit, at a rune boundary.
func AppendClose(dst []byte, code CloseCode, reason string) []byte {
	if code == CloseNoStatus || code == 0 {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	max := MaxControlPayload - 2
	if len(reason) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	return append(dst, reason...)
}
