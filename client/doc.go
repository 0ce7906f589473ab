// Package client is the client side of a WebSocket-to-TCP bridge: it dials
// a ws:// or wss:// URL (directly or through an HTTP(S) proxy with
// CONNECT), checks the server's handshake, and pumps bytes between the
// WebSocket's binary messages and a local stream: an io.Reader/io.Writer
// pair such as stdin and stdout (ssh's ProxyCommand), or a net.Conn
// accepted on a local port.
//
// It speaks to any server that carries a byte stream in binary messages:
// wsbridge in server mode, websockify, and the like. Frames are read and
// written with wsbridge/frames in the client role: everything sent is
// masked, everything received must not be.
//
// # Half-close
//
// The end of the local input becomes a Close 1000 to the server, which
// the server maps to a FIN at its target; data keeps flowing the other way
// until the server's Close, which ends the session. A Close from the
// server first is answered at once and ends the session too. A connection
// that ends without a Close frame (a reset, a dead peer found by the
// heartbeat) is an error wrapping ErrDropped. Nothing is ever redialled.
package client
