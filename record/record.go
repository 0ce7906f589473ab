// Package record writes websockify's session recordings (--record): one
// file per session, PREFIX.N, in the format noVNC's playback tools read:
// a JavaScript array of strings,
//
//	var VNC_frame_data = [
//	'{120{RFB 003.008\n',
//	'}135}RFB 003.008\n',
//	...
//	'EOF'];
//
// Each entry is one chunk of payload: '{ms{data' went to the client (what
// playback replays), '}ms}data' came from the client; ms counts from the
// start of the session. data is the bytes as Latin-1 in a single-quoted
// JavaScript string: printable ASCII as itself, \\ \' \t \n \r, and every
// other byte as \xNN, which is what websockify's Python writes.
//
// A recording is bounded: once Limit bytes are written, later chunks are
// dropped and the file ends with a comment saying so. Recordings capture
// everything, passwords typed in a VNC session included; keep them
// private (files are created 0600).
package record

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// DefaultLimit bounds a recording when Open is given no limit.
const DefaultLimit = 100 << 20

// File is one session's recording. It is safe for concurrent use: the two
// directions of a session are recorded from two goroutines.
type File struct {
	mu        sync.Mutex
	f         *os.File
	w         *bufio.Writer
	start     time.Time
	limit     int64
	written   int64
	truncated bool
	err       error // the first write error; recording stops there
}

// Open creates PREFIX.N and writes the array's head. limit bounds the
// file's size (0 means DefaultLimit).
func Open(prefix string, n int64, limit int64) (*File, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	name := prefix + "." + strconv.FormatInt(n, 10)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &File{f: f, w: bufio.NewWriterSize(f, 32<<10), start: time.Now(), limit: limit}
	r.write([]byte("var VNC_frame_data = [\n"))
	return r, nil
}

// Name returns the file's name.
func (r *File) Name() string { return r.f.Name() }

// ToClient records p, sent to the client.
func (r *File) ToClient(p []byte) { r.entry('{', p) }

// FromClient records p, received from the client.
func (r *File) FromClient(p []byte) { r.entry('}', p) }

func (r *File) entry(dir byte, p []byte) {
	ms := time.Since(r.start).Milliseconds()
	b := make([]byte, 0, 16+len(p)+len(p)/4)
	b = append(b, '\'', dir)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, dir)
	b = AppendEscaped(b, p)
	b = append(b, "',\n"...)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.truncated || r.err != nil {
		return
	}
	if r.written+int64(len(b)) > r.limit {
		r.truncated = true
		return
	}
	r.write(b)
}

// write appends b; r.mu is held (or r is not shared yet).
func (r *File) write(b []byte) {
	if r.err != nil {
		return
	}
	n, err := r.w.Write(b)
	r.written += int64(n)
	if err != nil {
		r.err = fmt.Errorf("record: %w", err)
	}
}

// Close ends the array, flushes and closes the file. It returns the first
// write error, if any.
func (r *File) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.write([]byte("'EOF'];\n"))
	if r.truncated {
		r.write(fmt.Appendf(nil, "// truncated: the recording reached its limit of %d bytes\n", r.limit))
	}
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = fmt.Errorf("record: %w", err)
	}
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = fmt.Errorf("record: %w", err)
	}
	return r.err
}

// Truncated reports whether chunks were dropped at the limit.
func (r *File) Truncated() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.truncated
}

const hexDigits = "0123456789abcdef"

// AppendEscaped appends p as the body of a single-quoted JavaScript
// string, reading each byte as a Latin-1 character, as Python's
// bytes.decode('latin1').encode('unicode_escape') plus an escaped quote.
func AppendEscaped(b, p []byte) []byte {
	for _, c := range p {
		switch {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\'':
			b = append(b, '\\', '\'')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c >= 0x20 && c < 0x7f:
			b = append(b, c)
		default:
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return b
}
