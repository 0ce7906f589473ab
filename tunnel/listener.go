package tunnel

import "net"

// netHTTPListener returns what net/http serves when the event loop takes
// none of ln's connections: ln itself, or with opts.Proxy each connection
// reading its PROXY header.
func netHTTPListener(ln net.Listener, opts ListenOptions) net.Listener {
	if opts.Proxy == nil {
		return ln
	}
	return &wrapListener{Listener: ln, wrap: opts.Proxy.Wrap}
}

// wrapListener applies wrap to every connection its listener accepts.
type wrapListener struct {
	net.Listener
	wrap func(net.Conn) net.Conn
}

// Accept returns the next connection, wrapped.
func (l *wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.wrap(c), nil
}
