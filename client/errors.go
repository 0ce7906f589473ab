package client

import (
	"errors"
	"fmt"
	"strings"

	"wsbridge/frames"
)

// ErrDropped is wrapped by the error of a session whose connection ended
// without a Close frame from the server: a reset, an EOF, or no sign of
// life within the heartbeat's limit.
var ErrDropped = errors.New("client: tunnel dropped without a Close frame")

// HandshakeError is a server's refusal to upgrade: any status but 101.
type HandshakeError struct {
	Status string // the status line's code and text, "403 Forbidden"
	Body   string // the first line of the body, if any
}

// Error implements error.
func (e *HandshakeError) Error() string {
	s := "client: handshake refused: " + e.Status
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// CloseError is a Close frame from the server with a code other than
// 1000 (normal) or none: the tunnel ended for a reason the user should
// see (1011 the target failed, 1001 the server is shutting down, ...).
type CloseError struct {
	Code   frames.CloseCode
	Reason string
}

// Error implements error.
func (e *CloseError) Error() string {
	s := fmt.Sprintf("client: server closed the tunnel with %d", e.Code)
	if r := strings.TrimSpace(e.Reason); r != "" {
		s += " (" + r + ")"
	}
	return s
}
