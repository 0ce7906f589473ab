package deflate

// window keeps the last bytes a Reader inflated, as many as the peer's
// compressor may refer back to. Under the peer's context takeover each
// message may refer into the ones before, so the next message's inflater
// starts from this copy; the inflater itself goes back to the pool between
// messages.
type window struct {
	buf  []byte // allocated at the first write
	size int
	pos  int  // where the next byte goes
	full bool // buf has wrapped: the oldest byte is at pos
}

func newWindow(bits int) window { return window{size: 1 << bits} }

// write records p as the latest output.
func (w *window) write(p []byte) {
	if w.buf == nil {
		w.buf = make([]byte, w.size)
	}
	if len(p) >= w.size {
		copy(w.buf, p[len(p)-w.size:])
		w.pos, w.full = 0, true
		return
	}
	n := copy(w.buf[w.pos:], p)
	copy(w.buf, p[n:])
	if w.pos+len(p) >= w.size {
		w.full = true
	}
	w.pos = (w.pos + len(p)) % w.size
}

// appendTo appends the window's bytes to dst, oldest first.
func (w *window) appendTo(dst []byte) []byte {
	if !w.full {
		return append(dst, w.buf[:w.pos]...)
	}
	return append(append(dst, w.buf[w.pos:]...), w.buf[:w.pos]...)
}
