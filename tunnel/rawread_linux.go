package tunnel

import (
	"io"
	"net"
	"syscall"
)

// rawReader reads a connection from inside the runtime poller's read
// callback (syscall.RawConn), so that waiting and reading are one step:
// the buffer is taken from buf only once the connection is readable, and
// given back if the read finds nothing after all. An idle session then
// holds no read buffer, and a busy one pays one read per chunk, with no
// separate readiness check. On a connection without a file descriptor (TLS,
// a wrapped conn) reads go through conn.Read, holding the buffer while
// blocked.
type rawReader struct {
	conn  net.Conn
	rc    syscall.RawConn // nil: not a file descriptor
	buf   readBuffer
	short bool // the last read returned less than asked: the socket was empty
	try   bool // the current read returns EAGAIN instead of waiting
	fn    func(fd uintptr) bool
	n     int
	errno syscall.Errno
}

// readBuffer lends a rawReader the buffer for one read.
type readBuffer interface {
	take() []byte // called once the connection is readable
	drop()        // the read found nothing: the buffer taken may go back
}

func newRawReader(c net.Conn, buf readBuffer) *rawReader {
	r := &rawReader{conn: c, buf: buf}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			r.rc = rc
		}
	}
	r.fn = r.once // built once, so that read does not allocate
	return r
}

// read waits until the connection is readable and reads once into the
// buffer taken from buf. It returns io.EOF at the end of the stream, the
// poller's error (a deadline, a closed connection) or the socket's.
func (r *rawReader) read() (int, error) {
	if r.rc == nil {
		return r.conn.Read(r.buf.take())
	}
	return r.do(false)
}

// tryRead reads what the socket holds now, without waiting: 0 and no
// error when it holds nothing. After a short read, which found the socket
// empty, it does not try.
func (r *rawReader) tryRead() (int, error) {
	if r.rc == nil || r.short {
		return 0, nil
	}
	return r.do(true)
}

func (r *rawReader) do(try bool) (int, error) {
	r.n, r.errno, r.try = 0, 0, try
	if err := r.rc.Read(r.fn); err != nil {
		return 0, err
	}
	switch {
	case r.errno == syscall.EAGAIN:
		return 0, nil // tryRead found nothing
	case r.errno != 0:
		return 0, sockError("read", r.conn, r.errno)
	case r.n == 0:
		return 0, io.EOF
	}
	return r.n, nil
}

// once is the poller callback: false means "wait for readability".
func (r *rawReader) once(fd uintptr) bool {
	p := r.buf.take()
	for {
		n, err := syscall.Read(int(fd), p)
		switch err {
		case nil:
			r.n, r.short = n, n > 0 && n < len(p)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			r.buf.drop()
			if r.try {
				r.errno = syscall.EAGAIN
				return true
			}
			return false
		}
		r.errno = errnoOf(err)
		return true
	}
}
