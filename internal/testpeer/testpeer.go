// Package testpeer provides real TCP services on loopback for the tests
// of several packages: the targets a bridge dials.
package testpeer

import (
	"io"
	"net"
	"sync"
	"testing"
)

// TCP starts a TCP service on 127.0.0.1:0 and returns its address (see
// Serve).
func TCP(t testing.TB, handle func(*net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	Serve(t, ln, func(c net.Conn) { handle(c.(*net.TCPConn)) })
	return ln.Addr().String()
}

// Serve accepts on ln until the test ends. Each connection is handled on
// its own goroutine and closed when handle returns. When the test ends
// the listener and every open connection are closed and all handlers
// waited for.
func Serve(t testing.TB, ln net.Listener, handle func(net.Conn)) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		open = map[net.Conn]struct{}{}
	)
	wg.Go(func() { // accept loop; ends when the listener is closed
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = struct{}{}
			mu.Unlock()
			wg.Go(func() { // one handler; ends when handle returns
				defer func() {
					c.Close()
					mu.Lock()
					delete(open, c)
					mu.Unlock()
				}()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// Echo copies everything back and half-closes after the peer's FIN. It
// copies through a buffer, not io.Copy: that would splice through a pipe
// held while it waits, three fds per connection, and tests holding
// thousands of sessions would run out.
func Echo(c *net.TCPConn) {
	io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 32<<10))
	c.CloseWrite()
}
