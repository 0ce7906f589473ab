package tunnel

import (
	"bufio"
	"net"
	"sync"

	"wsbridge/frames"
)

// smallBufSize is the size of the buffer that frame headers and small
// messages are read through: the size of net/http's own read buffer, so
// the bytes it holds at hijack time always fit.
const smallBufSize = 4 << 10

// lazyReader buffers reads from a connection with a pooled buffer that it
// holds only while it has unread bytes. Waiting for the next frame holds
// no buffer, so an idle session costs no read memory; reads of at least
// smallBufSize that find the buffer empty go straight to the connection,
// and so does the rest of a large read that the buffer only began.
type lazyReader struct {
	rd     *rawReader
	pool   *sync.Pool // *[]byte of smallBufSize
	buf    *[]byte    // nil while empty
	r, w   int        // unread bytes are (*buf)[r:w]
	direct []byte     // the caller's buffer, during a read straight into it
	err    error      // from a read that also returned data, for the next Read

	// noWait makes Read return 0 and no error where it would wait for
	// the connection.
	noWait bool
}

// newLazyReader reads conn, starting with whatever br (net/http's reader,
// given up at hijack) had buffered beyond the request.
func newLazyReader(conn net.Conn, br *bufio.Reader, pool *sync.Pool) *lazyReader {
	l := &lazyReader{pool: pool}
	l.rd = newRawReader(conn, l)
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n) // cannot fail: n bytes are buffered
		l.buf = pool.Get().(*[]byte)
		l.w = copy(*l.buf, b)
	}
	return l
}

// Read implements io.Reader.
func (l *lazyReader) Read(p []byte) (int, error) {
	if l.buf == nil {
		if l.err == nil && len(p) >= smallBufSize {
			return l.readDirect(p, l.noWait)
		}
		l.fill(l.noWait)
		if l.buf == nil {
			err := l.err
			l.err = nil
			return 0, err
		}
	}
	n := copy(p, (*l.buf)[l.r:l.w])
	l.r += n
	if l.r < l.w {
		return n, nil
	}
	l.release()
	if len(p)-n < smallBufSize {
		return n, nil
	}
	// A large read (a big frame's payload) that the buffer only began:
	// take what the socket holds already, so that it goes on in one piece.
	m, err := l.readDirect(p[n:], true)
	l.err = err
	return n + m, nil
}

// dataFrameReady reports whether the next frame is a data frame
// (binary or continuation) whose header is buffered, so that reading it
// does not wait. With nothing buffered it reads what the socket holds.
func (l *lazyReader) dataFrameReady() bool {
	if l.buf == nil {
		l.fill(true)
	}
	if l.buf == nil {
		return false
	}
	b := (*l.buf)[l.r:l.w]
	n := frames.PeekHeaderLen(b)
	if n == 0 || len(b) < n {
		return false
	}
	op := frames.Opcode(b[0] & 0xF)
	return op == frames.OpBinary || op == frames.OpContinuation
}

// fill reads into the empty buffer, without waiting if try is set. An
// error is kept for the next Read.
func (l *lazyReader) fill(try bool) {
	if l.err != nil {
		return
	}
	var n int
	var err error
	if try {
		n, err = l.rd.tryRead()
	} else {
		n, err = l.rd.read()
	}
	if n == 0 {
		l.release()
		l.err = err
		return
	}
	l.r, l.w = 0, n
}

// readDirect reads into p, waiting for data unless try is set.
func (l *lazyReader) readDirect(p []byte, try bool) (int, error) {
	l.direct = p
	defer func() { l.direct = nil }()
	if try {
		return l.rd.tryRead()
	}
	return l.rd.read()
}

// take implements readBuffer.
func (l *lazyReader) take() []byte {
	if l.direct != nil {
		return l.direct
	}
	if l.buf == nil {
		l.buf = l.pool.Get().(*[]byte)
	}
	return *l.buf
}

// drop implements readBuffer.
func (l *lazyReader) drop() {
	if l.direct == nil && l.buf != nil {
		l.release()
	}
}

// release gives the buffer back; called when it is empty.
func (l *lazyReader) release() {
	if l.buf != nil {
		l.pool.Put(l.buf)
	}
	l.buf, l.r, l.w = nil, 0, 0
}
