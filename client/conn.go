package client

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
)

// bufSize is the most input one frame carries, and the output copy
// buffer's size.
const bufSize = 32 << 10

// Conn is an established WebSocket tunnel. Pipe runs it once; Close ends
// it without a Close handshake.
type Conn struct {
	nc        net.Conn
	rd        frameSource     // read by Pipe's own goroutine only
	dr        *deflate.Reader // nil without permessage-deflate
	proto     string
	url       string // for messages, password redacted
	heartbeat time.Duration

	wmu   sync.Mutex      // serialises frames: data, pongs, pings, Close
	wr    *frames.Writer  // guarded by wmu
	dw    *deflate.Writer // guarded by wmu; nil without permessage-deflate
	ended bool            // guarded by wmu: Pipe returned, input has nowhere to go

	lastSeen atomic.Int64 // UnixNano of the last frame or payload from the server
	upBusy   atomic.Bool  // the input pump is blocked writing (heartbeat)
	stopping atomic.Bool  // Pipe is winding down: input errors are expected

	amu      sync.Mutex
	abortErr error // guarded by amu: why abort ended the tunnel
}

// newConn wraps an upgraded connection; ext is not nil when
// permessage-deflate was agreed, with params.
func newConn(nc net.Conn, br *bufio.Reader, proto, url string, heartbeat time.Duration, ext *deflate.Extension, params deflate.Params) *Conn {
	fr := frames.NewReader(br, frames.RoleClient)
	c := &Conn{
		nc:        nc,
		rd:        fr,
		wr:        frames.NewWriter(nc, frames.RoleClient),
		proto:     proto,
		url:       url,
		heartbeat: heartbeat,
	}
	if ext != nil {
		c.dr = ext.NewReader(fr, frames.RoleClient, params)
		c.dw = ext.NewWriter(c.wr, frames.RoleClient, params)
		c.rd = c.dr
	}
	c.lastSeen.Store(time.Now().UnixNano())
	return c
}

// frameSource reads the server's frames: a frames.Reader, or a
// deflate.Reader inflating compressed messages read through one.
type frameSource interface {
	NextFrame() (frames.Header, error)
	Read(p []byte) (int, error)
	ControlPayload() []byte
}

// Compressed reports whether permessage-deflate was agreed.
func (c *Conn) Compressed() bool { return c.dr != nil }

// release ends input and returns the compression state to the pools;
// Pipe's reader has stopped.
func (c *Conn) release() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ended = true
	if c.dr != nil {
		c.dr.Release()
		c.dw.Release()
	}
}

// Subprotocol returns the subprotocol the server chose, "" for none.
func (c *Conn) Subprotocol() string { return c.proto }

// LocalAddr returns the local address of the connection to the server
// (or proxy).
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// Close closes the connection at once, without a Close frame. A Pipe in
// progress ends with an error.
func (c *Conn) Close() error { return c.nc.Close() }

// abort ends the tunnel because of err (heartbeat, cancellation): every
// blocked read and write on the connection fails, and Pipe returns err.
// The first call wins.
func (c *Conn) abort(err error) {
	c.setCause(err)
	c.nc.SetDeadline(time.Unix(1, 0))
}

// setCause records why the tunnel is ending, unless a cause is recorded
// already; from then on a failed read reports it.
func (c *Conn) setCause(err error) {
	c.amu.Lock()
	defer c.amu.Unlock()
	if c.abortErr == nil {
		c.abortErr = err
	}
}

// aborted returns abort's error, or nil.
func (c *Conn) aborted() error {
	c.amu.Lock()
	defer c.amu.Unlock()
	return c.abortErr
}

// writeControl writes a ping or pong unless a Close has been sent.
func (c *Conn) writeControl(op frames.Opcode, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wr.Closed() {
		return nil
	}
	return c.wr.WriteControl(op, payload)
}

// writeClose sends a Close frame unless one was sent; it reports whether
// this call sent it.
func (c *Conn) writeClose(code frames.CloseCode, reason string) (bool, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wr.Closed() {
		return false, nil
	}
	return true, c.wr.WriteClose(code, reason)
}
