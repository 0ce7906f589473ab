package tunnel

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// readWaiter blocks until a connection has data, EOF or an error to report,
// without reading it: an idle session then holds no read buffer. It peeks
// one byte with MSG_PEEK|MSG_DONTWAIT from inside the runtime poller, so
// readiness that arrived before the call is not missed. It is built once
// per connection so that waiting does not allocate.
//
// A socket error (ECONNRESET after an RST) is consumed by the peek: the
// kernel reports it once, and a later read only sees the end of the
// stream. wait therefore returns it, or a reset would pass for a FIN.
type readWaiter struct {
	rc   syscall.RawConn // nil: not a file descriptor, wait returns at once
	peek func(fd uintptr) bool
	b    [1]byte
	err  syscall.Errno // the peek's error, 0 for data or EOF
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
		switch e {
		case syscall.EAGAIN:
			return false // not readable yet: the poller waits
		case syscall.EINTR:
			return true // let Read find out
		}
		w.err = e
		return true
	}
	return w
}

// wait returns when the connection is readable, or with the poller's error
// (a deadline, a closed connection) or the socket's (a reset).
func (w *readWaiter) wait() error {
	if w.rc == nil {
		return nil
	}
	w.err = 0
	if err := w.rc.Read(w.peek); err != nil {
		return err
	}
	if w.err != 0 {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("recvfrom", w.err)}
	}
	return nil
}
