package deflate

import (
	"errors"

	"wsbridge/frames"
)

// Protocol violations found while reading, each carrying its close code
// like frames' own (frames.CloseCodeOf reads it).
var (
	// ErrCorrupt is compressed data that does not inflate. RFC 7692 §8.1
	// only says to fail the connection; 1007 (invalid payload data) is
	// what npm ws sends.
	ErrCorrupt = &frames.Error{Code: frames.CloseInvalidPayload, Msg: "permessage-deflate: invalid compressed data"}
	// ErrRsv1Continuation is RSV1 on a continuation frame: RFC 7692 §6.1
	// sets it on the first frame of a message only.
	ErrRsv1Continuation = &frames.Error{Code: frames.CloseProtocolError, Msg: "permessage-deflate: RSV1 set on a continuation frame"}
	// ErrRsv1Control is RSV1 on a control frame, which §6.1 forbids.
	ErrRsv1Control = &frames.Error{Code: frames.CloseProtocolError, Msg: "permessage-deflate: RSV1 set on a control frame"}
)

// ErrResponse is a server's Sec-WebSocket-Extensions answer that a client
// must refuse (RFC 6455 §4.1: fail the connection). The error returned by
// Accept wraps it with the reason.
var ErrResponse = errors.New("deflate: invalid permessage-deflate response")

var (
	errNotData     = errors.New("deflate: not a data opcode")
	errMessageOpen = errors.New("deflate: a compressed message is open")
	errAfterClose  = errors.New("deflate: read after a Close frame that interrupted a compressed message")
	errNoTail      = errors.New("deflate: flush did not end with a sync marker")
	errClosing     = errors.New("deflate: Close frame inside a compressed message")
	errReleased    = errors.New("deflate: use after Release")
)
