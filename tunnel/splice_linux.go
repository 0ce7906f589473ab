package tunnel

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"wsbridge/frames"
)

// splicePath moves the target's bytes to the client through a pipe with
// splice(2): target socket → pipe → client socket, the frame header sent
// before the payload with MSG_MORE. The payload never enters user space,
// which saves the bridge two copies of every byte on the down path.
//
// A pipe is taken from the Server's pool once the target is readable and
// goes back empty after the frame is out, so an idle session holds none.
// When no pipe can be made (out of file descriptors) the chunk is copied
// through a buffer as on other connections.
//
// Splicing costs three calls per chunk (splice in, header, splice out)
// where a copy costs two (read, write), so it pays only for bulk data:
// chunks are copied until a read fills the whole buffer, and spliced
// until a splice moves less than a quarter of it. Interactive traffic
// (keystrokes, echoes, small messages) stays on the copy.
type splicePath struct {
	pipes  *sync.Pool // *pipe, empty
	size   int        // MaxFrameSize: the most one frame carries
	target syscall.RawConn
	client syscall.RawConn
	tconn  net.Conn // the target and the client, for error messages
	cconn  net.Conn
	wr     *frames.Writer
	copy   *copyPath

	pipe   *pipe // held from a read until its frame is out
	bulk   bool  // the target sends full chunks: splice them
	inPipe bool  // the last read went to the pipe, not the copy buffer
	noPipe bool  // the read callback found no pipe to take

	hdr    [frames.MaxHeaderLen]byte
	out    []byte // header bytes not yet sent
	left   int    // payload bytes still in the pipe
	n      int
	errno  syscall.Errno
	readFn func(uintptr) bool
	sendFn func(uintptr) bool
}

// newSplicePath returns a splicePath that copies through c when it does
// not splice, if both connections are plain sockets; nil otherwise (TLS on
// either side, a wrapped conn).
func (p *pair) newSplicePath(c *copyPath) downPath {
	target, ok1 := rawSocket(p.target)
	client, ok2 := rawSocket(p.client)
	if !ok1 || !ok2 {
		return nil
	}
	s := &splicePath{
		pipes:  &p.srv.pipes,
		size:   p.srv.cfg.MaxFrameSize,
		target: target,
		client: client,
		tconn:  p.target,
		cconn:  p.client,
		wr:     p.wr,
		copy:   c,
		bulk:   true, // made after a full chunk
	}
	s.readFn, s.sendFn = s.readOnce, s.sendOnce // built once: no allocation per chunk
	return s
}

// rawSocket returns the RawConn of a TCP or unix stream socket.
func rawSocket(c net.Conn) (syscall.RawConn, bool) {
	var sc syscall.Conn
	switch c := c.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil, false
	}
	rc, err := sc.SyscallConn()
	return rc, err == nil
}

func (s *splicePath) read() (int, error) {
	if !s.bulk {
		s.inPipe = false
		n, err := s.copy.read()
		s.bulk = n == s.size
		return n, err
	}
	s.n, s.errno, s.noPipe = 0, 0, false
	if err := s.target.Read(s.readFn); err != nil {
		return 0, err
	}
	if s.noPipe {
		s.inPipe = false
		return s.copy.read()
	}
	s.inPipe = true
	switch {
	case s.errno != 0:
		return 0, sockError("read", s.tconn, s.errno)
	case s.n == 0:
		return 0, io.EOF
	}
	s.bulk = s.n >= s.size/4
	return s.n, nil
}

// readOnce is the target's read callback: false means "wait".
func (s *splicePath) readOnce(fd uintptr) bool {
	if s.pipe == nil {
		if s.pipe = getPipe(s.pipes, s.size); s.pipe == nil {
			s.noPipe = true
			return true
		}
	}
	for {
		n, err := unix.Splice(int(fd), nil, s.pipe.w, nil, s.size, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		switch err {
		case nil:
			s.n = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			s.pipes.Put(s.pipe) // still empty
			s.pipe = nil
			return false
		}
		s.errno = errnoOf(err)
		return true
	}
}

func (s *splicePath) writeFrame(n int) error {
	if !s.inPipe {
		return s.copy.writeFrame(n)
	}
	if s.wr.Closed() {
		s.dropPipe()
		return errAfterClose
	}
	h := frames.Header{Fin: true, Op: frames.OpBinary, Length: int64(n)}
	s.out, s.left, s.errno = s.hdr[:frames.PutHeader(s.hdr[:], h)], n, 0
	err := s.client.Write(s.sendFn)
	if err == nil && s.errno != 0 {
		err = sockError("write", s.cconn, s.errno)
	}
	s.dropPipe()
	return err
}

// sendOnce is the client's write callback: the header with MSG_MORE,
// then the payload from the pipe. False means "wait until writable".
func (s *splicePath) sendOnce(fd uintptr) bool {
	for len(s.out) > 0 {
		n, err := unix.SendmsgN(int(fd), s.out, nil, nil, unix.MSG_MORE)
		switch err {
		case nil:
			s.out = s.out[n:]
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.errno = errnoOf(err)
		return true
	}
	for s.left > 0 {
		n, err := unix.Splice(s.pipe.r, nil, int(fd), nil, s.left, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		switch err {
		case nil:
			s.left -= int(n)
			continue
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.errno = errnoOf(err)
		return true
	}
	return true
}

// dropPipe gives the pipe back if it is empty and closes it otherwise (a
// failed write leaves bytes in it that belong to no one).
func (s *splicePath) dropPipe() {
	if s.pipe == nil {
		return
	}
	if s.left == 0 {
		s.pipes.Put(s.pipe)
	} else {
		s.pipe.close()
	}
	s.pipe, s.left = nil, 0
}

func (s *splicePath) payload(n int) []byte {
	if s.inPipe {
		return nil
	}
	return s.copy.payload(n)
}

func (s *splicePath) release() {
	s.dropPipe()
	s.copy.release()
}

// errAfterClose refuses a data frame after this side's Close frame
// (RFC 6455 §5.5.1), as frames.Writer does.
var errAfterClose = errors.New("tunnel: data frame after close frame")

// pipe is a non-blocking kernel pipe. One left for the garbage collector
// (a sync.Pool drops its items) closes itself.
type pipe struct {
	r, w    int
	cleanup runtime.Cleanup
}

// getPipe takes an empty pipe from pool or makes one that holds size
// bytes; nil if none can be made.
func getPipe(pool *sync.Pool, size int) *pipe {
	if p, ok := pool.Get().(*pipe); ok {
		return p
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil
	}
	if size > 64<<10 {
		// Best effort: the default 64 KiB (16 pages) only limits how much
		// one frame carries.
		_, _ = unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, size)
	}
	p := &pipe{r: fds[0], w: fds[1]}
	p.cleanup = runtime.AddCleanup(p, closeFDs, fds)
	return p
}

func (p *pipe) close() {
	p.cleanup.Stop()
	closeFDs([2]int{p.r, p.w})
}

func closeFDs(fds [2]int) {
	unix.Close(fds[0])
	unix.Close(fds[1])
}

// sockError describes a failed socket call as net.Conn methods do.
func sockError(op string, c net.Conn, errno syscall.Errno) error {
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(),
		Err: os.NewSyscallError(op, errno)}
}

// errnoOf returns err as an Errno; EIO if it is none (it always is).
func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
