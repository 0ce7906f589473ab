//go:build unix

package tlsconf

import (
	"io"
	"net"
	"syscall"
)

// peekByte looks at the first byte of a TCP or unix stream conn without
// consuming it (recv with MSG_PEEK), waiting under the conn's read
// deadline. ok is false for other conns, which the caller reads instead.
func peekByte(c net.Conn) (b byte, ok bool, err error) {
	var sc syscall.Conn
	switch c := c.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return 0, false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	var buf [1]byte
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
			if rerr != syscall.EINTR {
				return rerr != syscall.EAGAIN // false: wait until readable
			}
		}
	})
	switch {
	case err != nil:
		return 0, true, err
	case rerr != nil:
		return 0, true, rerr
	case n == 0:
		return 0, true, io.EOF
	}
	return buf[0], true, nil
}
