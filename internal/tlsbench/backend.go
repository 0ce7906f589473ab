package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// backend is the target every system connects to: sink takes the up
// transfers and checks them, source sends the down ones.
type backend struct {
	sink, source net.Listener
	sinkDone     chan error // one report per connection that carried data
	wg           sync.WaitGroup
}

// startBackend listens on loopback for transfers of n bytes.
func startBackend(n int64) (*backend, error) {
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	source, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sink.Close()
		return nil, fmt.Errorf("backend: %w", err)
	}
	b := &backend{sink: sink, source: source, sinkDone: make(chan error, 16)}
	b.wg.Go(func() { b.serve(sink, func(c net.Conn) { b.take(c, n) }) })
	b.wg.Go(func() { b.serve(source, func(c net.Conn) { give(c, n) }) })
	return b, nil
}

// serve runs handle for each connection ln accepts, until ln is closed.
func (b *backend) serve(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b.wg.Go(func() {
			defer c.Close()
			handle(c)
		})
	}
}

// take reads one up transfer of n bytes, checking every byte, and
// reports its end on sinkDone. A connection that ends before its first
// byte reports nothing.
func (b *backend) take(c net.Conn, n int64) {
	const size = 256 << 10
	pat := pattern(size)
	buf := make([]byte, size)
	var got int64
	for got < n {
		k, err := c.Read(buf)
		if k > 0 && (got+int64(k) > n || !checkPattern(pat, buf[:k], got)) {
			b.report(fmt.Errorf("backend: byte %d and on: not what the client sent", got))
			return
		}
		got += int64(k)
		if err != nil {
			if got == 0 && errors.Is(err, io.EOF) {
				return
			}
			b.report(fmt.Errorf("backend: at byte %d of %d: %w", got, n, err))
			return
		}
	}
	b.report(nil)
	io.Copy(io.Discard, c) // until the system closes its side
}

// report hands a transfer's end to the client, never blocking.
func (b *backend) report(err error) {
	select {
	case b.sinkDone <- err:
	default:
	}
}

// give writes n pattern bytes to c and closes it.
func give(c net.Conn, n int64) {
	const size = 64 << 10
	pat := pattern(size)
	for off := int64(0); off < n; {
		m := int(min(size, n-off))
		s := int(off % period)
		if _, err := c.Write(pat[s : s+m]); err != nil {
			return
		}
		off += int64(m)
	}
}

// close stops the backend and waits for its connections to end.
func (b *backend) close() {
	b.sink.Close()
	b.source.Close()
	b.wg.Wait()
}
