package client

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// Serve accepts connections on ln until ctx ends, and carries each over
// its own tunnel to rawURL, dialled when the connection arrives. report,
// if not nil, is called (from the connection's goroutine) with the end of
// each connection: nil for a clean close. Serve closes ln, and returns
// only after every connection has ended; cancelling ctx closes them with
// 1001.
func (d *Dialer) Serve(ctx context.Context, ln net.Listener, rawURL string, report func(from net.Addr, err error)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		lc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("client: accept on %s: %w", ln.Addr(), err)
		}
		wg.Go(func() { d.serveConn(ctx, lc, rawURL, report) }) // ends when the tunnel does
	}
}

// serveConn carries one accepted connection.
func (d *Dialer) serveConn(ctx context.Context, lc net.Conn, rawURL string, report func(net.Addr, error)) {
	defer lc.Close()
	c, err := d.Dial(ctx, rawURL)
	if err == nil {
		err = c.Pipe(ctx, lc, lc)
	}
	// Everything the server sent is written: end it with a FIN.
	if cw, ok := lc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	if report != nil {
		report(lc.RemoteAddr(), err)
	}
}
