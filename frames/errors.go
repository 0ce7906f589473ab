package frames

import "errors"

// Error is a protocol violation found while reading. Code is the close code
// that the peer should be sent before the connection is dropped.
type Error struct {
	Code CloseCode
	Msg  string
}

// Error implements error.
func (e *Error) Error() string { return "frames: " + e.Msg }

// CloseCodeOf returns the close code carried by err (an *Error anywhere in
// its chain), or 0 if err carries none.
func CloseCodeOf(err error) CloseCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// Protocol violations, each mapped to its close code. Callers compare with
// errors.Is or read the code with CloseCodeOf.
var (
	ErrUnmaskedFrame       = &Error{CloseProtocolError, "client frame not masked"}
	ErrMaskedFrame         = &Error{CloseProtocolError, "server frame masked"}
	ErrReservedBits        = &Error{CloseProtocolError, "reserved bits set without a negotiated extension"}
	ErrReservedOpcode      = &Error{CloseProtocolError, "reserved opcode"}
	ErrControlTooLong      = &Error{CloseProtocolError, "control frame payload over 125 bytes"}
	ErrControlFragmented   = &Error{CloseProtocolError, "fragmented control frame"}
	ErrOrphanContinuation  = &Error{CloseProtocolError, "continuation frame without a message to continue"}
	ErrUnfinishedMessage   = &Error{CloseProtocolError, "new data frame inside an unfinished message"}
	ErrLengthOverflow      = &Error{CloseProtocolError, "64-bit payload length with the top bit set"}
	ErrClosePayloadLen     = &Error{CloseProtocolError, "close frame payload of 1 byte"}
	ErrCloseCode           = &Error{CloseProtocolError, "invalid close code"}
	ErrInvalidUTF8         = &Error{CloseInvalidPayload, "invalid UTF-8 in text message"}
	ErrInvalidCloseReason  = &Error{CloseInvalidPayload, "invalid UTF-8 in close reason"}
	ErrMessageTooBig       = &Error{CloseMessageTooBig, "message exceeds the configured limit"}
	errWriteAfterClose     = errors.New("frames: write after close frame")
	errControlPayloadWrite = errors.New("frames: control payload over 125 bytes")
)

var (
	errMessageOpen = errors.New("frames: a fragmented message is open")
	errNotControl  = errors.New("frames: not a control opcode")
	errNotData     = errors.New("frames: not a data opcode")
)
