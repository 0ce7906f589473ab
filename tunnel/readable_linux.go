package tunnel

import (
	"net"
	"syscall"
	"unsafe"
)

// readWaiter blocks until a connection has data, EOF or an error to report,
// without reading it: an idle session then holds no read buffer. It peeks
// one byte with MSG_PEEK|MSG_DONTWAIT from inside the runtime poller, so
// readiness that arrived before the call is not missed. It is built once
// per connection so that waiting does not allocate.
type readWaiter struct {
	rc   syscall.RawConn // nil: not a file descriptor, wait returns at once
	peek func(fd uintptr) bool
	b    [1]byte
}

func newReadWaiter(c net.Conn) *readWaiter {
	w := &readWaiter{}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			w.rc = rc
		}
	}
	w.peek = func(fd uintptr) bool {
		_, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&w.b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		return e != syscall.EAGAIN
	}
	return w
}

// wait returns when the connection is readable, or the poller's error
// (a deadline, a closed connection).
func (w *readWaiter) wait() error {
	if w.rc == nil {
		return nil
	}
	return w.rc.Read(w.peek)
}
