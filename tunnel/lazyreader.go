package tunnel

import (
	"bufio"
	"net"
	"sync"
)

// smallBufSize is the size of the buffer that frame headers and small
// messages are read through: the size of net/http's own read buffer, so
// the bytes it holds at hijack time always fit.
const smallBufSize = 4 << 10

// lazyReader buffers reads from a connection with a pooled buffer that it
// holds only while it has unread bytes. Waiting for the next frame holds
// no buffer, so an idle session costs no read memory; reads of at least
// smallBufSize that find the buffer empty go straight to the connection.
type lazyReader struct {
	conn net.Conn
	rw   *readWaiter
	pool *sync.Pool // *[]byte of smallBufSize
	buf  *[]byte    // nil while empty
	r, w int        // unread bytes are (*buf)[r:w]
}

// newLazyReader reads conn, starting with whatever br (net/http's reader,
// given up at hijack) had buffered beyond the request.
func newLazyReader(conn net.Conn, br *bufio.Reader, pool *sync.Pool) *lazyReader {
	l := &lazyReader{conn: conn, rw: newReadWaiter(conn), pool: pool}
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
		if len(p) >= smallBufSize {
			return l.conn.Read(p)
		}
		if err := l.rw.wait(); err != nil {
			return 0, err
		}
		l.buf = l.pool.Get().(*[]byte)
		n, err := l.conn.Read(*l.buf)
		if n == 0 {
			l.release()
			return 0, err
		}
		l.r, l.w = 0, n
	}
	n := copy(p, (*l.buf)[l.r:l.w])
	l.r += n
	if l.r == l.w {
		l.release()
	}
	return n, nil
}

// release gives the buffer back; called when it is empty.
func (l *lazyReader) release() {
	l.pool.Put(l.buf)
	l.buf, l.r, l.w = nil, 0, 0
}
