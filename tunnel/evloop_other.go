//go:build !linux

package tunnel

import (
	"bufio"
	"net"
)

// The event loop is Linux only (epoll); elsewhere every session runs on
// goroutines.

type engine struct{}

func newEngine(*Server) *engine { return nil }

func (e *engine) stop() {}

// evSession is never made outside Linux.
type evSession struct{}

func (s *Server) eventEligible(client, target any, compress bool) bool { return false }
func (s *Server) prepareEvent(*pair) bool                              { return false }
func (es *evSession) start(*bufio.Reader, bool)                        {}
func (es *evSession) closeFDs()                                        {}
func (es *evSession) goAway()                                          {}
func (es *evSession) abort()                                           {}

func (e *engine) kickAll() {}

// Listener returns ln (with opts.Proxy, reading each connection's PROXY
// header): without the event loop, net/http reads every request (see the
// Linux version).
func (s *Server) Listener(ln net.Listener, opts ListenOptions) net.Listener {
	return netHTTPListener(ln, opts)
}
