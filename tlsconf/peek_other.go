//go:build !unix

package tlsconf

import "net"

// peekByte cannot peek here; the caller reads the byte and replays it.
func peekByte(net.Conn) (b byte, ok bool, err error) { return 0, false, nil }
