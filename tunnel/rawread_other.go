//go:build !linux

package tunnel

import "net"

// rawReader reads through conn.Read outside Linux: the buffer is taken
// before the read blocks, so an idle session holds it.
type rawReader struct {
	conn net.Conn
	buf  readBuffer
}

// readBuffer lends a rawReader the buffer for one read.
type readBuffer interface {
	take() []byte
	drop()
}

func newRawReader(c net.Conn, buf readBuffer) *rawReader { return &rawReader{conn: c, buf: buf} }

func (r *rawReader) read() (int, error) { return r.conn.Read(r.buf.take()) }

func (r *rawReader) tryRead() (int, error) { return 0, nil }
