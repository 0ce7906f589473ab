package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"wsbridge/frames"
)

// readDeadliner is a local input Pipe can interrupt (a net.Conn, a
// pollable *os.File).
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// Pipe carries src to the server as binary messages and the server's
// messages to dst, until the Close handshake ends the tunnel, and closes
// the connection to the server. src's EOF sends Close 1000 (the server
// half-closes its target) and dst keeps receiving until the server's
// Close; a Close from the server first is answered at once. Pipe does not
// close dst: the caller ends it (closes stdout, or half-closes a
// net.Conn) when Pipe returns.
//
// A nil error means a clean end: the server's Close carried 1000 or no
// code. Otherwise the error is a *CloseError (another code), wraps
// ErrDropped (no Close frame), or says which side failed.
//
// Cancelling ctx sends Close 1001 and ends the tunnel with ctx's error.
//
// Pipe owns one goroutine reading src. When the tunnel ends before src
// does, Pipe interrupts the read if src has SetReadDeadline (a net.Conn)
// and waits for it; a src without deadlines (os.Stdin on a blocking pipe)
// cannot be interrupted, so Pipe returns with that read outstanding and
// its result is dropped. Pipe may be called once.
func (c *Conn) Pipe(ctx context.Context, dst io.Writer, src io.Reader) error {
	defer c.nc.Close()
	upDone := make(chan error, 1)
	go c.inputToServer(src, upDone) // ends at src's EOF or error, or a failed write
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { c.watch(ctx, done) }) // ends when done is closed
	if c.heartbeat > 0 {
		wg.Go(func() { c.keepalive(done) }) // ends when done is closed or the tunnel is dropped
	}

	err := c.serverToOutput(dst)
	defer c.release() // after the input pump is done with the writer, or ended below

	c.stopping.Store(true)
	close(done)
	wg.Wait()
	// The tunnel is over: closing unblocks an input write in progress.
	c.nc.Close()
	var upErr error
	select {
	case upErr = <-upDone:
	default:
		if rd, ok := src.(readDeadliner); ok && rd.SetReadDeadline(time.Unix(1, 0)) == nil {
			upErr = <-upDone
		}
	}
	if err == nil && upErr != nil {
		err = upErr
	}
	return err
}

// serverToOutput reads the server's frames: data payloads go to dst as
// they arrive, pings are answered, and a Close ends the tunnel.
func (c *Conn) serverToOutput(dst io.Writer) error {
	buf := make([]byte, bufSize)
	for {
		h, err := c.rd.NextFrame()
		if err != nil {
			return c.readError(err)
		}
		c.lastSeen.Store(time.Now().UnixNano())
		switch h.Op {
		case frames.OpPing:
			// RFC 6455 §5.5.2: answer with a Pong carrying the same payload.
			if err := c.writeControl(frames.OpPong, c.rd.ControlPayload()); err != nil {
				return c.readError(err)
			}
		case frames.OpPong:
			// §5.5.3: a Pong needs no answer; it was a sign of life.
		case frames.OpClose:
			return c.serverClose()
		default:
			if err := c.copyFrame(dst, buf); err != nil {
				return err
			}
		}
	}
}

// copyFrame streams the current data frame's payload to dst.
func (c *Conn) copyFrame(dst io.Writer, buf []byte) error {
	for {
		n, rerr := c.rd.Read(buf)
		if n > 0 {
			c.lastSeen.Store(time.Now().UnixNano())
			if _, err := dst.Write(buf[:n]); err != nil {
				_, _ = c.writeClose(frames.CloseGoingAway, "client output failed")
				return fmt.Errorf("client: write output: %w", err)
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return c.readError(rerr)
		}
	}
}

// serverClose handles the server's Close: the reply to ours, or the
// server ending the tunnel first, answered with the same code (§5.5.1).
func (c *Conn) serverClose() error {
	code, reason, _ := frames.ParseClose(c.rd.ControlPayload()) // checked by the Reader
	if _, err := c.writeClose(code, reason); err != nil && !isClosedErr(err) {
		return fmt.Errorf("client: answer the server's Close: %w", err)
	}
	if code == frames.CloseNormal || code == frames.CloseNoStatus {
		return nil
	}
	return &CloseError{Code: code, Reason: reason}
}

// readError is the tunnel's error after a failed read or write.
func (c *Conn) readError(err error) error {
	if aerr := c.aborted(); aerr != nil {
		return aerr
	}
	if code := frames.CloseCodeOf(err); code != 0 {
		_, _ = c.writeClose(code, "")
		return fmt.Errorf("client: from %s: %w", c.url, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrDropped, c.url, err)
}

// inputToServer sends what src yields as binary messages, one per read,
// and a Close 1000 at its EOF.
func (c *Conn) inputToServer(src io.Reader, done chan<- error) {
	done <- c.sendInput(src)
}

func (c *Conn) sendInput(src io.Reader) error {
	buf := make([]byte, frames.MaxHeaderLen+bufSize)
	for {
		n, rerr := src.Read(buf[frames.MaxHeaderLen:])
		if n > 0 {
			c.wmu.Lock()
			if c.wr.Closed() || c.ended {
				// The tunnel is closing: input has nowhere to go.
				c.wmu.Unlock()
				return nil
			}
			c.upBusy.Store(true)
			var werr error
			if c.dw != nil {
				werr = c.dw.WriteMessage(frames.OpBinary, buf[frames.MaxHeaderLen:frames.MaxHeaderLen+n])
			} else {
				werr = c.wr.WriteFrameInPlace(frames.OpBinary, true, buf[:frames.MaxHeaderLen+n])
			}
			c.upBusy.Store(false)
			c.wmu.Unlock()
			if werr != nil {
				if c.stopping.Load() || isClosedErr(werr) {
					return nil // serverToOutput reports why
				}
				c.abort(fmt.Errorf("%w: write to %s: %w", ErrDropped, c.url, werr))
				return nil
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF):
			// The input is done: the server half-closes its target and
			// keeps sending until it answers.
			if _, err := c.writeClose(frames.CloseNormal, ""); err != nil && !c.stopping.Load() && !isClosedErr(err) {
				c.abort(fmt.Errorf("%w: write to %s: %w", ErrDropped, c.url, err))
			}
			return nil
		case c.stopping.Load():
			return nil // interrupted by Pipe
		default:
			_, _ = c.writeClose(frames.CloseGoingAway, "client input failed")
			return fmt.Errorf("client: read input: %w", rerr)
		}
	}
}

// watch sends Close 1001 and ends the tunnel when ctx is cancelled.
func (c *Conn) watch(ctx context.Context, done <-chan struct{}) {
	select {
	case <-done:
	case <-ctx.Done():
		// The cause first: the server may close the connection as soon
		// as it reads the Close, and the reader must not take that for
		// a dropped tunnel.
		cause := fmt.Errorf("client: %w", context.Cause(ctx))
		c.setCause(cause)
		c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.writeClose(frames.CloseGoingAway, "client going away")
		c.abort(cause)
	}
}

// keepalive pings the server every heartbeat period and drops the tunnel
// when nothing arrived for two periods, unless the input pump is blocked
// writing (the server is then busy with our data, not dead).
func (c *Conn) keepalive(done <-chan struct{}) {
	t := time.NewTicker(c.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			last := time.Unix(0, c.lastSeen.Load())
			if now.Sub(last) > 2*c.heartbeat && !c.upBusy.Load() {
				c.abort(fmt.Errorf("%w: %s: nothing from the server for %v", ErrDropped, c.url, now.Sub(last).Round(time.Millisecond)))
				return
			}
			if c.wmu.TryLock() { // a busy writer means pings can wait
				if !c.wr.Closed() {
					_ = c.wr.WriteControl(frames.OpPing, nil)
				}
				c.wmu.Unlock()
			}
		}
	}
}

// isClosedErr reports whether err comes from a connection this side
// closed or a deadline it set.
func isClosedErr(err error) bool {
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || (errors.As(err, &ne) && ne.Timeout())
}
