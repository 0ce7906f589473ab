//go:build linux

package tunnel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/sys/unix"

	"wsbridge/frames"
)

// The accept path on the event loop. A new connection through net/http
// costs a goroutine, its buffered reader and writer, the request's parse
// into a handler, a dial that parks the handler until the target answers,
// and then moving both sockets out of Go's poller into a loop's epoll
// set: in wsbench's rate runs about 60% of the bridge's CPU per
// connection. Server.Listener takes that work onto the loops: the
// listening socket is accepted from directly, the new socket goes
// straight into a loop's epoll set, the request is read without a
// goroutine, the target is connected without blocking, and the 101 goes
// out when the connect completes. What may block (Authorize, Resolve,
// resolving a host name, dialling a route the loop cannot) runs on a
// goroutine of the connection's own, which hands its result back to the
// loop. Whatever this path does not take (a request that is not a plain
// WebSocket upgrade, one that fails RFC 6455's checks, a page, a request
// too large) is handed to net/http with the bytes read so far, and gets
// exactly the answer it always got: the one HTTP parser that decides is
// net/http's (http.ReadRequest here), never a second one.

// Listener returns a listener to give http.Server.Serve in place of ln.
// When the Server can bridge upgrades on the event loop (Linux, the loop
// on, a TCP or unix listener, a Target with a numeric port or an Authorize or
// Resolve, and no Dial, recording or traffic glyphs), WebSocket upgrades
// are taken off ln and bridged without net/http, and the listener
// returned yields only the connections left to net/http. Otherwise it
// returns ln, or with opts.Proxy a listener whose connections read their
// PROXY header. Closing the returned listener closes ln and every
// connection still sending its request on the loop.
func (s *Server) Listener(ln net.Listener, opts ListenOptions) net.Listener {
	switch ln.(type) {
	case *net.TCPListener, *net.UnixListener:
	default:
		return netHTTPListener(ln, opts) // TLS: net/http's way
	}
	if s.eng == nil {
		return netHTTPListener(ln, opts)
	}
	cfg := &s.cfg
	if cfg.Dial != nil || cfg.WrapDial != nil || cfg.Record != nil || s.traffic != nil {
		return netHTTPListener(ln, opts)
	}
	hooks := cfg.Resolve != nil || cfg.Authorize != nil
	target, host, ok := fixedTarget(cfg.Target)
	if !ok && !hooks {
		return netHTTPListener(ln, opts)
	}
	a, err := newAcceptor(s, ln, opts, target, host, hooks)
	if err != nil {
		s.log.Warnf("accepting on the event loop: %v; using net/http", err)
		return netHTTPListener(ln, opts)
	}
	return a
}

// fixedTarget parses a Target the loop can dial: a literal IP address
// (target), or a host name to resolve for each connection (host, with
// target holding only the port), with a numeric port. A literal address
// with a zone is left to net.Dialer, as is a port given by service name.
func fixedTarget(addr string) (target netip.AddrPort, host string, ok bool) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		if ap.Addr().Zone() != "" {
			return netip.AddrPort{}, "", false
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), "", true
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil || h == "" {
		return netip.AddrPort{}, "", false
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if _, ipErr := netip.ParseAddr(h); err != nil || port == 0 || ipErr == nil {
		return netip.AddrPort{}, "", false
	}
	return netip.AddrPortFrom(netip.Addr{}, uint16(port)), h, true
}

// dialAddr is an address to connect to.
type dialAddr struct {
	ap   netip.AddrPort
	zone uint32 // the interface index of a scoped IPv6 address
}

// acceptor accepts on a listening socket for the event loop and hands
// net/http what the loop does not take. It is the net.Listener that
// Server.Listener returns.
type acceptor struct {
	s      *Server
	ln     net.Listener    // a *net.TCPListener or *net.UnixListener
	file   *os.File        // a duplicate of ln's socket, as Go's poller sees it
	rc     syscall.RawConn // waits for file to be readable
	opts   ListenOptions
	target netip.AddrPort // the target's address, or only its port with host
	host   string         // the target's host name, resolved for each connection
	hooks  bool           // Authorize or Resolve: asked off the loop for each connection

	mu        sync.Mutex    // serialises handing off with Close
	closed    bool          // guarded by mu
	conns     chan net.Conn // for net/http's Accept; sent to under mu
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // the accept goroutine
}

// handoffQueue bounds the connections waiting for net/http's Accept; its
// Serve loop takes them at once, so this only fills if it stopped.
const handoffQueue = 128

func newAcceptor(s *Server, ln net.Listener, opts ListenOptions, target netip.AddrPort, host string, hooks bool) (*acceptor, error) {
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	fd, err := dupSocket(ln)
	if err != nil {
		return nil, err
	}
	if _, ok := ln.(*net.TCPListener); ok {
		// What net.Listen's connections get, set once here: accepted
		// sockets inherit them (no Nagle, TCP keepalive after 15 s).
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		setKeepAlive(fd, 15)
	}
	f := os.NewFile(uintptr(fd), "listener") // non-blocking like ln: pollable
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("listener: %w", err)
	}
	a := &acceptor{
		s: s, ln: ln, file: f, rc: rc, opts: opts, target: target, host: host, hooks: hooks,
		conns: make(chan net.Conn, handoffQueue),
		done:  make(chan struct{}),
	}
	a.wg.Add(1)
	go a.run() // owned by a: Close waits for it
	return a, nil
}

// Accept returns the next connection for net/http.
func (a *acceptor) Accept() (net.Conn, error) {
	select {
	case c := <-a.conns:
		return c, nil
	case <-a.done:
		return nil, net.ErrClosed
	}
}

// Addr is the listener's address.
func (a *acceptor) Addr() net.Addr { return a.ln.Addr() }

// Close stops accepting, closes ln, the connections waiting for net/http
// and those still sending their request on the loops.
func (a *acceptor) Close() error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		close(a.done)
		a.mu.Unlock()
		a.file.Close() // ends the accept goroutine's wait
		a.wg.Wait()
		a.closeErr = a.ln.Close()
		a.s.eng.dropReading(a)
	drain: // what net/http did not take (no more come: closed is set)
		for {
			select {
			case c := <-a.conns:
				c.Close()
			default:
				break drain
			}
		}
	})
	return a.closeErr
}

// run accepts until the listener is closed. Errors that say the process
// is out of descriptors or memory are retried after a pause that doubles
// up to a second, as net/http does.
func (a *acceptor) run() {
	defer a.wg.Done()
	var (
		pause time.Duration
		aerr  error
	)
	accept := func(fd uintptr) bool {
		for {
			nfd, peer, err := accept4(int(fd))
			switch err {
			case nil:
				pause = 0
				a.take(nfd, peer)
				continue
			case unix.EAGAIN:
				return false
			case unix.EINTR, unix.ECONNABORTED:
				continue
			}
			aerr = err
			return true
		}
	}
	for {
		aerr = nil
		if err := a.rc.Read(accept); err != nil {
			return // Close closed the file
		}
		pause = min(max(2*pause, 5*time.Millisecond), time.Second)
		a.s.log.Warnf("accept: %v; retrying in %v", sysErr("accept4", aerr), pause)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-a.done:
			t.Stop()
			return
		}
	}
}

// take puts a new connection on a loop, to read its request.
func (a *acceptor) take(fd int, peer string) {
	l, err := a.s.eng.assignAccepted()
	if err != nil {
		a.handoff(fd, nil, netip.AddrPort{}, false) // stopping, or no loop (out of descriptors): net/http's way
		return
	}
	pc := &pendingConn{a: a, l: l, cfd: fd, tfd: -1, peer: peer}
	if d := a.opts.HandshakeTimeout; d > 0 {
		pc.deadline = time.Now().Add(d)
	}
	// Registered and listed under l.mu: events that the loop collects
	// meanwhile wait for the lock and then find pc listed, and nothing
	// (a Shutdown, a deadline) can end pc before it is registered. From
	// the unlock on, pc is the loop's. EPOLLOUT is reported at once (the
	// socket is writable): the loop wakes and takes the new deadline into
	// account even if the client sends nothing.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	l.mu.Lock()
	err = rawEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
	if err == nil {
		l.pending[int32(fd)] = pc
		l.reading.push(pc)
	}
	l.mu.Unlock()
	if err != nil {
		pc.forget(true) // never listed: only the count to give back
		a.handoff(fd, nil, netip.AddrPort{}, false)
		return
	}
	// Shutdown or Drain may have dropped the reading connections between
	// assignAccepted and the insertion above; it set stopping first, so
	// one of the two sees the other.
	if a.s.eng.isStopping() {
		l.mu.Lock()
		l.expireReading(pc)
		l.kick()
		l.mu.Unlock()
	}
}

// handoff gives net/http the connection on fd (not in any epoll set),
// with the bytes already read from it after its PROXY header, if any.
// With ListenOptions.Proxy, headerRead says whether that header was read
// (and client is the address it named, if any); if not, the connection
// reads it itself.
func (a *acceptor) handoff(fd int, read []byte, client netip.AddrPort, headerRead bool) {
	c, err := fileConn(fd)
	if err != nil {
		a.s.log.Warnf("handing a connection to net/http: %v", err)
		return
	}
	if len(read) > 0 || client.IsValid() {
		pc := &prefixConn{Conn: c, pre: read}
		if client.IsValid() {
			pc.remote = net.TCPAddrFromAddrPort(client)
		}
		c = pc
	}
	if a.opts.Proxy != nil && !headerRead {
		c = a.opts.Proxy.Wrap(c)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		c.Close()
		return
	}
	select {
	case a.conns <- c:
	default:
		a.s.log.Warnf("%s: dropped: net/http is not accepting", c.RemoteAddr())
		c.Close()
	}
}

// fileConn makes a net.Conn of the socket fd (in no epoll set), which it
// closes: the conn holds a duplicate, in Go's poller.
func fileConn(fd int) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	return net.FileConn(f)
}

// prefixConn is a connection whose first bytes were read already, and
// whose client a PROXY header may have named.
type prefixConn struct {
	net.Conn
	pre    []byte
	remote net.Addr // nil: the socket's peer
}

// RemoteAddr returns the client.
func (c *prefixConn) RemoteAddr() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

// Read returns what was read already, then reads the connection.
func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite sends a FIN: net/http half-closes before closing a
// connection it refused, so that the client reads the answer rather than
// a reset.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// setKeepAlive turns TCP keepalive on with the given idle time and probe
// interval in seconds.
func setKeepAlive(fd, secs int) {
	rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs)
	rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs)
}

// accept4 accepts a connection, non-blocking and close-on-exec, and
// formats its peer's address as net/http names it (net.TCPAddr.String;
// "@" for an unnamed unix socket, as net.UnixAddr's). (unix.Accept4 asks
// every IPv4 socket for its protocol, a system call per connection.)
func accept4(lfd int) (fd int, peer string, err error) {
	var rsa unix.RawSockaddrAny
	n := uint32(unsafe.Sizeof(rsa))
	r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n)),
		unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, "", e
	}
	var ap netip.AddrPort
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		ap = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		ap = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), ntohs(sa.Port))
	case unix.AF_UNIX:
		return int(r), unixPeer((*unix.RawSockaddrUnix)(unsafe.Pointer(&rsa)), n), nil
	}
	return int(r), ap.String(), nil
}

// unixPeer names a unix socket's peer from the n bytes of its address as
// Go's syscall package does: its path, with the NUL that starts an
// abstract name (or an unnamed socket's empty one) shown as "@".
func unixPeer(sa *unix.RawSockaddrUnix, n uint32) string {
	path := sa.Path[:]
	if l := int(n) - int(unsafe.Offsetof(sa.Path)); l >= 0 && l < len(path) {
		path = path[:l]
	}
	var b []byte
	for i, c := range path {
		if c == 0 {
			if i > 0 {
				break
			}
			c = '@'
		}
		b = append(b, byte(c))
	}
	if len(b) == 0 {
		return "@"
	}
	return string(b)
}

// ntohs reads a port as it is stored in a sockaddr (big-endian).
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// pendingConn is a connection on a loop before its session: reading the
// request (l.reading), then connecting to the target (l.dialing: resolving
// its name, then connecting to each address in turn). It is
// found through l.pending and listed under l.mu, and otherwise used by
// the loop goroutine only, outside l.mu (its steps take s.mu, which is
// never taken inside a loop's lock).
type pendingConn struct {
	a        *acceptor
	l        *loop
	cfd, tfd int
	peer     string

	buf  *[]byte // the request so far: a pooled buffer, or one grown past it
	n    int
	rest []byte // what came after the request: the client's first frames

	// With ListenOptions.Proxy: whether the PROXY header was read (and
	// taken out of buf), and the client it named, if any (peer then
	// names it too).
	headerRead bool
	proxied    netip.AddrPort

	dialing    bool
	ended      bool // forgotten: handed off, closed or a session
	in, tOut   bool // readiness noted by the loop
	hup, tHup  bool // the client's, the target's FIN or an error came
	queued     bool // in l.pendReady
	expired    bool
	deadline   time.Time // of reading, then of dialing; zero: none
	prev, next *pendingConn
	list       *pendList

	hs        Handshake
	client    string // for the log
	release   func() // Admit's
	dialStart time.Time
	dialEnd   time.Time // DialTimeout from dialStart; zero: none

	// The dial: the addresses not tried yet (one, or what the name
	// resolved to), the one being tried, and the last one's error.
	addrs      []dialAddr
	one        [1]dialAddr // addrs for a numeric target, without allocating
	addr       dialAddr
	dialErr    error
	notAllowed bool // Config.AllowTarget refused the first address

	off    *offLoopState // what may block, run on a goroutine (nil: nothing)
	looked bool          // off's result is in; guarded by l.mu
}

// offLoopState is a pending connection's work off the loop (offLoop).
type offLoopState struct {
	cancel       context.CancelFunc // ends the goroutine's work
	res          offLoopResult      // left by the goroutine under l.mu, with looked
	route        Route              // the route taken, once known
	dialReported bool               // the dial's end went to the Observer
}

// pendList is a list of pending connections in the order of their
// deadlines, those without one last. One Server's connections get the
// same timeout, so push only walks back past others' (another listener's
// ListenOptions, or none).
type pendList struct{ head, tail *pendingConn }

func (q *pendList) push(pc *pendingConn) {
	at := q.tail // pc goes after at
	for at != nil && later(at.deadline, pc.deadline) {
		at = at.prev
	}
	pc.list, pc.prev = q, at
	if at == nil {
		pc.next, q.head = q.head, pc
	} else {
		pc.next, at.next = at.next, pc
	}
	if pc.next == nil {
		q.tail = pc
	} else {
		pc.next.prev = pc
	}
}

// later reports whether deadline a comes after b (zero: never).
func later(a, b time.Time) bool {
	switch {
	case b.IsZero():
		return false
	case a.IsZero():
		return true
	}
	return a.After(b)
}

func (q *pendList) remove(pc *pendingConn) {
	if pc.list != q {
		return
	}
	if pc.prev != nil {
		pc.prev.next = pc.next
	} else {
		q.head = pc.next
	}
	if pc.next != nil {
		pc.next.prev = pc.prev
	} else {
		q.tail = pc.prev
	}
	pc.list, pc.prev, pc.next = nil, nil, nil
}

// note records an event for a pending connection (l.mu held). The edges
// that come before the session are not repeated: a FIN noted here is
// handed to the session (hup), which must otherwise take a short read for
// an empty socket and wait for an edge that already came.
func (pc *pendingConn) note(fd int, ev uint32) {
	hup := ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	if fd == pc.cfd {
		pc.in = pc.in || hup || ev&unix.EPOLLIN != 0
		pc.hup = pc.hup || hup
	} else {
		pc.tOut = pc.tOut || hup || ev&unix.EPOLLOUT != 0
		pc.tHup = pc.tHup || hup
	}
	pc.l.queuePending(pc)
}

// queuePending lists pc for runPending (l.mu held).
func (l *loop) queuePending(pc *pendingConn) {
	if !pc.queued {
		pc.queued = true
		l.pendReady = append(l.pendReady, pc)
	}
}

// expirePending moves the pending connections whose deadline passed to
// runPending (l.mu held); after a forced Shutdown or Drain, all of them.
func (l *loop) expirePending(now time.Time) {
	forced := l.eng.s.force.Err() != nil
	for _, q := range []*pendList{&l.reading, &l.dialing} {
		for pc := q.head; pc != nil && (forced || (!pc.deadline.IsZero() && !pc.deadline.After(now))); pc = q.head {
			q.remove(pc)
			pc.expired = true
			l.queuePending(pc)
		}
	}
}

// pendingDeadline is the first deadline of a pending connection, zero if
// none (l.mu held). Each list is in the order of its deadlines.
func (l *loop) pendingDeadline() time.Time {
	a, b := l.reading.head, l.dialing.head
	switch {
	case a == nil || a.deadline.IsZero():
		if b == nil {
			return time.Time{}
		}
		return b.deadline
	case b == nil || b.deadline.IsZero() || a.deadline.Before(b.deadline):
		return a.deadline
	}
	return b.deadline
}

// runPending moves the pending connections that had events or timed out,
// on the loop goroutine without l.mu.
func (l *loop) runPending() {
	l.mu.Lock()
	ready := l.pendWork[:0]
	for _, pc := range l.pendReady {
		pc.queued = false
		ready = append(ready, pendJob{pc, pc.expired, pc.ended, pc.looked}) // set from outside too
		pc.looked = false
	}
	clear(l.pendReady)
	l.pendReady = l.pendReady[:0]
	l.mu.Unlock()
	forced := l.eng.s.force.Err() != nil
	for _, job := range ready {
		pc := job.pc
		if job.looked && (job.ended || job.expired) {
			pc.off.res.discard() // too late: the dial is over
		}
		switch {
		case job.ended:
			// Ended before it was queued (its accept failed).
		case job.expired && pc.dialing && forced:
			pc.endEntered() // a forced Shutdown: as a cancelled dial, closed at once
		case job.expired && pc.dialing:
			pc.dialExpired()
		case job.expired:
			pc.drop() // net/http closes such a connection too, without an answer
		case job.looked && !job.expired:
			pc.prepared()
		case pc.dialing:
			if pc.hup && pc.off != nil {
				// The client is gone: as net/http cancels the request's
				// context, Authorize, Resolve or the lookup may stop.
				pc.off.cancel()
			}
			if pc.tOut {
				pc.connected()
			}
		case pc.in:
			pc.readRequest()
		}
	}
	clear(ready)
	l.pendWork = ready[:0]
}

// pendJob is a pending connection to move, whether its time is up,
// whether it ended already and whether its name was resolved, as they were
// under l.mu.
type pendJob struct {
	pc                     *pendingConn
	expired, ended, looked bool
}

// readRequest reads what the client sent until its request is whole.
func (pc *pendingConn) readRequest() {
	s := pc.a.s
	limit := pc.a.opts.MaxHeaderBytes + 4096 // as net/http: some slack for the request line
	for {
		if pc.buf == nil {
			pc.buf = s.small.Get().(*[]byte)
		}
		b := *pc.buf
		if pc.n == len(b) {
			if len(b) >= limit && pc.a.opts.Proxy != nil && !pc.headerRead {
				s.log.Warnf("%s: refused: a PROXY header longer than %d bytes", pc.peer, limit)
				pc.drop()
				return
			}
			if len(b) >= limit {
				// Too large for the loop: net/http answers 431.
				pc.giveUp()
				return
			}
			nb := make([]byte, min(2*len(b), limit))
			copy(nb, b[:pc.n])
			s.small.Put(pc.buf)
			pc.buf = &nb
			b = nb
		}
		n, err := sysRead(pc.cfd, b[pc.n:])
		switch {
		case err == unix.EAGAIN:
			pc.in = false
			return
		case err != nil || n == 0:
			// Gone before its request was whole: nothing to answer.
			pc.drop()
			return
		}
		from := max(0, pc.n-3)
		pc.n += n
		if pc.a.opts.Proxy != nil && !pc.headerRead {
			if !pc.proxyHeader() {
				if pc.cfd < 0 {
					return // refused
				}
				continue // more to read
			}
			from = 0
		}
		if end := headEnd(b[:pc.n], from); end >= 0 {
			pc.upgrade(b[:end], b[end:pc.n])
			return
		}
	}
}

// proxyHeader reads the PROXY header at the start of what was read
// (ListenOptions.Proxy) and takes it out of pc.buf. It reports whether
// the header was read: if not, either more is needed, or pc was refused
// and dropped (its cfd then is -1).
func (pc *pendingConn) proxyHeader() bool {
	b := (*pc.buf)[:pc.n]
	peer, _ := netip.ParseAddrPort(pc.peer) // a unix peer's "@" gives the zero AddrPort
	client, n, err := pc.a.opts.Proxy.Header(peer, b)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return false
	case err != nil:
		pc.a.s.log.Warnf("%s: refused: %v", pc.peer, err)
		pc.drop()
		return false
	}
	pc.headerRead = true
	if client.IsValid() {
		pc.proxied, pc.peer = client, client.String()
	}
	pc.n = copy(b, b[n:])
	return true
}

// headEnd returns the length of the request head in b (up to and
// including the empty line that ends it) or -1, looking from from on.
// Lines end in CRLF or, as net/http also accepts, a bare LF.
func headEnd(b []byte, from int) int {
	for i := from; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
}

// upgrade checks a whole request and, for a plain WebSocket upgrade that
// may go ahead, starts the connection to the target; anything else goes
// to net/http.
func (pc *pendingConn) upgrade(head, rest []byte) {
	s := pc.a.s
	r := parseUpgrade(head)
	var err error
	if r == nil {
		r, err = http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(head), len(head)))
	}
	if err != nil || !plainUpgrade(r) {
		pc.giveUp()
		return
	}
	r.RemoteAddr = pc.peer
	hs, herr := CheckUpgrade(r, true)
	if herr != nil || (s.cfg.Deflate != nil && len(r.Header.Values("Sec-Websocket-Extensions")) > 0) {
		// Refused, or compression to negotiate: net/http's way.
		pc.giveUp()
		return
	}
	client, clientIP := s.clientAddr(r)
	release := func() {}
	if s.cfg.Admit != nil {
		rel, err := s.cfg.Admit(clientIP)
		if err != nil {
			pc.refuse(client, err, http.StatusServiceUnavailable)
			return
		}
		release = rel
	}
	if !s.enter() {
		release()
		pc.refuse(client, &HandshakeError{Status: http.StatusServiceUnavailable, Msg: "server shutting down"}, 0)
		return
	}
	pc.hs, pc.client, pc.release = hs, client, release
	pc.rest = append([]byte(nil), rest...)
	pc.freeBuf()
	pc.dial(r)
}

// dial begins the connection to the target. A fixed target at a numeric
// address is connected at once; what may block (Authorize, Resolve,
// resolving a host name) runs first off the loop.
func (pc *pendingConn) dial(r *http.Request) {
	a := pc.a
	pc.dialing = true
	if a.hooks || a.host != "" {
		pc.offLoop(r)
		return
	}
	pc.startDial()
	pc.one[0] = dialAddr{ap: a.target}
	pc.addrs = pc.one[:]
	pc.connectNext()
}

// startDial starts the dial's clock: DialTimeout covers resolving the
// target's name and every connect, as it does net.Dialer's.
func (pc *pendingConn) startDial() {
	pc.dialStart = time.Now()
	pc.dialEnd = time.Time{}
	if d := pc.a.s.cfg.DialTimeout; d > 0 {
		pc.dialEnd = pc.dialStart.Add(d)
	}
}

// offLoop runs prepare on a goroutine, which hands its result back to the
// loop (runPending, then prepared). The loop does not wait for it: pc's
// deadline, a forced Shutdown or pc's end cancel it, and its result is
// then dropped.
func (pc *pendingConn) offLoop(r *http.Request) {
	a := pc.a
	s := a.s
	l := pc.l
	ctx, cancel := context.WithCancel(s.force)
	off := &offLoopState{cancel: cancel}
	pc.off = off
	if !a.hooks {
		pc.startDial() // the lookup is the dial's first step
	}
	l.mu.Lock()
	l.reading.remove(pc)
	// Authorize and Resolve have no deadline of their own, as in
	// ServeHTTP; a lookup has the dial's.
	pc.deadline = pc.dialEnd
	l.dialing.push(pc)
	l.mu.Unlock()
	r = r.WithContext(ctx)
	s.wg.Add(1) // pc's own count (it entered) keeps s.wg above zero here
	go func() { // owned by s: counted in s.wg, which Shutdown and Drain wait for
		defer s.wg.Done()
		res := pc.prepare(ctx, r)
		l.mu.Lock()
		taken := !pc.ended
		if taken {
			off.res, pc.looked = res, true
			l.queuePending(pc)
			l.kick()
		}
		l.mu.Unlock()
		if !taken && res.fd >= 0 {
			rawClose(res.fd)
		}
	}()
}

// offLoopResult is what prepare found: a refusal to answer (with status
// unless it is a Refusal), a dial that failed, a connected socket, or the
// addresses for the loop to connect to.
type offLoopResult struct {
	refuse error
	status int
	err    error // the dial failed, already reported to the Observer if dialled
	dialed bool  // net.Dialer dialled (and reported) here
	fd     int   // connected here, or -1
	addrs  []dialAddr
	route  Route
}

// prepare does, on pc's goroutine, what may block: for a fixed target by
// name, its lookup; otherwise Authorize, then Resolve, then the dial
// itself by net.Dialer unless the route is a numeric TCP address, which
// the loop connects to.
func (pc *pendingConn) prepare(ctx context.Context, r *http.Request) offLoopResult {
	a := pc.a
	s := a.s
	res := offLoopResult{fd: -1}
	if !a.hooks {
		addrs, err := lookupTarget(ctx, s.lookupIP, a.host, a.target.Port())
		if err != nil {
			res.err = pc.dialError(err)
		}
		res.addrs = addrs
		return res
	}
	if s.cfg.Authorize != nil {
		if err := s.cfg.Authorize(r); err != nil {
			res.refuse, res.status = err, http.StatusForbidden
			return res
		}
	}
	rt, err := s.route(ctx, r)
	if err != nil {
		res.refuse, res.status = err, http.StatusBadGateway
		return res
	}
	res.route = rt
	if rt.Network == "tcp" {
		if ap, host, ok := fixedTarget(rt.Addr); ok && host == "" {
			res.addrs = []dialAddr{{ap: ap}}
			return res
		}
	}
	res.dialed = true
	c, err := s.dialTarget(ctx, rt)
	if _, ok := errors.AsType[Refusal](err); ok {
		res.refuse = err
		return res
	}
	if err != nil {
		res.err = err
		return res
	}
	res.fd, err = dupSocket(c)
	c.Close()
	if err != nil {
		res.err = fmt.Errorf("tunnel: dial target %s %s: %w", rt.Network, rt.Addr, err)
	}
	return res
}

// lookupTarget resolves host to the addresses to dial, in the resolver's
// order (RFC 6724's, as net.Dialer gets them). A scoped IPv6 address gets
// its zone's interface index.
func lookupTarget(ctx context.Context, lookup func(context.Context, string, string) ([]netip.Addr, error), host string, port uint16) ([]dialAddr, error) {
	ips, err := lookup(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	found := make([]dialAddr, 0, len(ips))
	for _, ip := range ips {
		da := dialAddr{ap: netip.AddrPortFrom(ip.Unmap().WithZone(""), port)}
		if z := ip.Zone(); z != "" {
			ifi, err := net.InterfaceByName(z)
			if err != nil {
				continue
			}
			da.zone = uint32(ifi.Index)
		}
		found = append(found, da)
	}
	if len(found) == 0 {
		return nil, &net.DNSError{Err: "no suitable address found", Name: host}
	}
	return found, nil
}

// discard closes the socket of a result that is not taken.
func (res *offLoopResult) discard() {
	if res.fd >= 0 {
		rawClose(res.fd)
		res.fd = -1
	}
}

// prepared carries on, on the loop, with what prepare found.
func (pc *pendingConn) prepared() {
	off := pc.off
	res := off.res
	off.res = offLoopResult{fd: -1}
	off.cancel()
	off.route = res.route
	switch {
	case res.refuse != nil:
		pc.answerRefusal(pc.client, res.refuse, res.status)
		pc.endEntered()
	case res.err != nil:
		off.dialReported = res.dialed
		pc.dialFailed(res.err)
	case res.fd >= 0:
		off.dialReported = true
		pc.takeConnected(res.fd)
	default:
		if pc.dialStart.IsZero() {
			pc.startDial() // a route's numeric address: the dial starts now
		}
		pc.addrs = res.addrs
		pc.connectNext()
	}
}

// takeConnected takes the target's socket, connected off the loop, and
// answers the upgrade.
func (pc *pendingConn) takeConnected(fd int) {
	l := pc.l
	pc.tfd = fd
	l.mu.Lock()
	l.dialing.remove(pc)
	pc.deadline = time.Time{}
	l.pending[int32(fd)] = pc
	l.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if err := rawEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		pc.dialFailed(pc.dialError(sysErr("epoll_ctl", err)))
		return
	}
	pc.connected()
}

// target returns the target being dialled, as the route or Target names it.
func (pc *pendingConn) target() (network, addr string) {
	if pc.off != nil && pc.off.route.Addr != "" {
		return pc.off.route.Network, pc.off.route.Addr
	}
	return "tcp", pc.a.s.cfg.Target
}

// dialError says which dial err ended.
func (pc *pendingConn) dialError(err error) error {
	network, addr := pc.target()
	return fmt.Errorf("tunnel: dial target %s %s: %w", network, addr, err)
}

// dialReported reports whether the dial's end went to the Observer.
func (pc *pendingConn) dialReported() bool {
	return pc.off != nil && pc.off.dialReported
}

// plainUpgrade reports whether r (from http.ReadRequest, which keeps the
// Host header only as r.Host) is a request the loop may answer itself: a
// WebSocket upgrade by GET over HTTP/1.x, in origin form, with no body,
// that net/http's server would pass to its handler (the checks it makes
// beyond http.ReadRequest: a valid Host, valid header fields). net/http
// refuses or reads the others in its own ways.
func plainUpgrade(r *http.Request) bool {
	if r.Method != http.MethodGet || r.ProtoMajor != 1 || r.URL.Host != "" ||
		r.ContentLength != 0 || len(r.TransferEncoding) != 0 || !IsUpgrade(r) {
		return false
	}
	if r.Host == "" || !httpguts.ValidHostHeader(r.Host) {
		return false
	}
	for k, vv := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// connectNext starts a non-blocking connect to the next address; the
// loop reports its end as EPOLLOUT on the socket. With no address left,
// the dial failed with the last one's error. Each address but the last
// gets a share of the time left, as net.Dialer gives it.
func (pc *pendingConn) connectNext() {
	l := pc.l
	for len(pc.addrs) > 0 {
		now := time.Now()
		deadline, ok := partialDeadline(now, pc.dialEnd, len(pc.addrs))
		if !ok {
			break // dialErr says why: the deadline came between two tries
		}
		pc.addr, pc.addrs = pc.addrs[0], pc.addrs[1:]
		if allow := pc.a.s.cfg.AllowTarget; allow != nil && !allow(pc.addr.ap) {
			// As net.Dialer's Control would: the address is skipped, and
			// if it was the first, the dial ends with its refusal unless
			// another address connects. After a failed connect, that
			// failure stays the dial's error.
			if pc.dialErr == nil {
				pc.notAllowed = true
				pc.dialErr = fmt.Errorf("%w: %s", errTargetNotAllowed, pc.addr.ap)
			}
			continue
		}
		fd, err := connectSocket(pc.addr)
		if err != nil {
			pc.dialErr = err
			continue
		}
		pc.tfd, pc.tOut, pc.tHup = fd, false, false
		l.mu.Lock()
		l.reading.remove(pc)
		l.dialing.remove(pc)
		pc.deadline, pc.expired = deadline, false
		l.dialing.push(pc)
		l.pending[int32(fd)] = pc
		l.mu.Unlock()
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
		if err := rawEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			pc.dialErr = sysErr("epoll_ctl", err)
			pc.closeTarget()
			continue
		}
		return
	}
	if pc.notAllowed {
		pc.refuseTarget()
		return
	}
	if pc.dialErr == nil {
		pc.dialErr = os.ErrDeadlineExceeded
	}
	pc.dialFailed(pc.dialError(pc.dialErr))
}

// refuseTarget answers 403 for a dial that Config.AllowTarget refused, as
// ServeHTTP does.
func (pc *pendingConn) refuseTarget() {
	s := pc.a.s
	_, addr := pc.target()
	err := s.targetNotAllowed(addr)
	if s.cfg.Observer != nil && !pc.dialReported() {
		s.cfg.Observer.Dialed(time.Since(pc.dialStart), err)
	}
	pc.answerRefusal(pc.client, err, 0)
	pc.endEntered()
}

// partialDeadline is the deadline of one connect with n addresses left
// to try before the dial's deadline (zero: none): an equal share of the
// time left, but at least 2 s if there is that much, as net.Dialer does.
// ok is false once the dial's deadline has passed.
func partialDeadline(now, deadline time.Time, n int) (time.Time, bool) {
	if deadline.IsZero() {
		return deadline, true
	}
	left := deadline.Sub(now)
	if left <= 0 {
		return time.Time{}, false
	}
	const saneMinimum = 2 * time.Second
	share := left / time.Duration(n)
	if share < saneMinimum {
		share = min(left, saneMinimum)
	}
	return now.Add(share), true
}

// connectSocket makes a socket as the net.Dialer it replaces would (no
// Nagle, keepalive after 30 s) and starts connecting it to da.
func connectSocket(da dialAddr) (int, error) {
	family := unix.AF_INET6
	if da.ap.Addr().Is4() {
		family = unix.AF_INET
	}
	fd, err := rawNewSocket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, sysErr("socket", err)
	}
	rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	setKeepAlive(fd, 30)
	if err := rawConnect(fd, da); err != nil && err != unix.EINPROGRESS && err != unix.EINTR {
		rawClose(fd)
		return -1, sysErr("connect", err)
	}
	return fd, nil
}

// closeTarget closes the socket of a connect that failed.
func (pc *pendingConn) closeTarget() {
	l := pc.l
	l.mu.Lock()
	if l.pending[int32(pc.tfd)] == pc {
		delete(l.pending, int32(pc.tfd))
	}
	l.mu.Unlock()
	rawClose(pc.tfd) // and with it its place in the epoll set
	pc.tfd = -1
}

// dialExpired ends a connect (or the lookup) whose deadline passed: the
// next address gets its turn while the dial's own deadline has not come.
func (pc *pendingConn) dialExpired() {
	pc.dialErr = os.ErrDeadlineExceeded
	if pc.tfd < 0 {
		pc.dialFailed(pc.dialError(pc.dialErr)) // the lookup took all the time
		return
	}
	pc.closeTarget()
	pc.connectNext()
}

// connected checks how the connect ended and, if it succeeded, answers
// 101 and starts the session on the loop; if it failed, the next address
// is tried.
func (pc *pendingConn) connected() {
	s := pc.a.s
	if err := pc.connectError(); err != nil {
		pc.dialErr = sysErr("connect", err)
		pc.closeTarget()
		pc.connectNext()
		return
	}
	if s.cfg.Observer != nil && !pc.dialReported() {
		s.cfg.Observer.Dialed(time.Since(pc.dialStart), nil)
	}
	if err := pc.write101(pc.cfd); err != nil {
		s.log.Warnf("%s: %v", pc.client, err)
		s.observe(ResultFailed)
		pc.endEntered()
		return
	}
	pc.start()
}

// connectError is how the connect ended. A socket that is still
// connecting reports no EPOLLOUT, and one whose connect failed reports
// EPOLLERR with it: only then (or after a FIN, which may have come with
// an error) is SO_ERROR asked for, a system call per connection saved.
func (pc *pendingConn) connectError() error {
	if !pc.tHup {
		return nil
	}
	errno, err := rawGetsockoptInt(pc.tfd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && errno != 0 {
		err = unix.Errno(errno)
	}
	return err
}

// write101 answers the upgrade; a fresh socket takes it whole.
func (pc *pendingConn) write101(fd int) error {
	var buf [384]byte
	b := append101(buf[:0], pc.hs)
	n, err := sysWrite(fd, b)
	if err == nil && n < len(b) {
		err = unix.EAGAIN
	}
	if err != nil {
		return fmt.Errorf("tunnel: write 101: %w", sysErr("write", err))
	}
	return nil
}

// start makes the session and hands it to the loop.
func (pc *pendingConn) start() {
	s := pc.a.s
	l := pc.l
	token := ""
	if pc.off != nil {
		token = redact(pc.off.route.Token)
	}
	p := newPair(s, nil, nil, pc.client, token)
	p.targetName = pc.addr.ap.String() // what the socket is connected to
	p.admitted = pc.release
	es := newEvSession(p, l, pc.cfd, pc.tfd)
	es.cHup, es.tHup = pc.hup, pc.tHup
	ok, goAway := s.register(p)
	if !ok {
		s.observe(ResultFailed)
		pc.endEntered()
		return
	}
	s.observe(ResultAccepted)
	s.sessionOpened(p)
	l.mu.Lock()
	l.inLoop = true
	pc.forgetLocked() // the session takes over the count
	p.mu.Lock()
	es.started = true
	goAway = goAway || es.pendingGoAway
	abort := es.pendingAbort
	p.mu.Unlock()
	l.conns[int32(es.cfd)] = es
	l.conns[int32(es.tfd)] = es
	if abort {
		es.closeAll()
	} else {
		es.begin(pc.rest, goAway)
	}
	l.inLoop = false
	l.mu.Unlock()
}

// dialFailed answers the upgrade with 101 and a Close 1011, as ServeHTTP
// does for an unreachable target, on a goroutine that waits for the
// client's reply (a forced shutdown closes it at once, as there).
func (pc *pendingConn) dialFailed(err error) {
	s := pc.a.s
	if pc.off != nil {
		pc.off.cancel()
	}
	if s.cfg.Observer != nil && !pc.dialReported() {
		s.cfg.Observer.Dialed(time.Since(pc.dialStart), err)
	}
	s.log.Warnf("%s: %v", pc.client, err)
	s.observe(ResultDialFailed)
	pc.forget(true)
	if pc.tfd >= 0 {
		rawClose(pc.tfd)
		pc.tfd = -1
	}
	cfd := pc.cfd
	pc.cfd = -1
	release := pc.release
	if pc.write101(cfd) != nil {
		rawClose(cfd)
		release()
		s.wg.Done()
		return
	}
	rawEpollCtl(pc.l.epfd, unix.EPOLL_CTL_DEL, cfd, nil)
	c, cerr := fileConn(cfd)
	if cerr != nil {
		release()
		s.wg.Done()
		return
	}
	br := bufio.NewReader(&prefixConn{Conn: c, pre: pc.rest})
	go func() { // owned by s: counted in s.wg since enter
		defer s.wg.Done()
		defer release()
		s.refuseAfterUpgrade(c, br, frames.CloseInternalError, reasonDialFailed)
	}()
}

// refuse answers a refused upgrade and closes the connection.
func (pc *pendingConn) refuse(client string, err error, fallback int) {
	pc.answerRefusal(client, err, fallback)
	pc.drop()
}

// answerRefusal answers a refused upgrade.
func (pc *pendingConn) answerRefusal(client string, err error, fallback int) {
	var w bufferedResponse
	pc.a.s.refused(&w, client, err, fallback)
	sysWrite(pc.cfd, w.bytes()) // a fresh socket takes it; if not, the close says enough
}

// giveUp hands the connection to net/http with what was read.
func (pc *pendingConn) giveUp() {
	var read []byte
	if pc.buf != nil {
		read = append([]byte(nil), (*pc.buf)[:pc.n]...)
	}
	pc.freeBuf()
	pc.forget(true)
	cfd := pc.cfd
	pc.cfd = -1
	rawEpollCtl(pc.l.epfd, unix.EPOLL_CTL_DEL, cfd, nil)
	pc.a.handoff(cfd, read, pc.proxied, pc.headerRead)
}

// drop closes a pending connection.
func (pc *pendingConn) drop() {
	if pc.off != nil {
		pc.off.cancel()
	}
	pc.forget(true)
	if pc.cfd >= 0 {
		rawClose(pc.cfd)
	}
	if pc.tfd >= 0 {
		rawClose(pc.tfd)
	}
	pc.cfd, pc.tfd = -1, -1
	pc.freeBuf()
}

// endEntered closes a pending connection that entered (s.wg, Admit)
// without a session.
func (pc *pendingConn) endEntered() {
	pc.drop()
	pc.release()
	pc.a.s.wg.Done()
}

// forget takes pc off its loop's registry and lists, and (uncount) out of
// the loop's count: it ends without a session.
func (pc *pendingConn) forget(uncount bool) {
	l := pc.l
	l.mu.Lock()
	pc.forgetLocked()
	l.mu.Unlock()
	if uncount {
		l.eng.mu.Lock()
		l.count--
		l.eng.mu.Unlock()
	}
}

func (pc *pendingConn) forgetLocked() {
	l := pc.l
	pc.ended = true
	if pc.cfd >= 0 && l.pending[int32(pc.cfd)] == pc {
		delete(l.pending, int32(pc.cfd))
	}
	if pc.tfd >= 0 && l.pending[int32(pc.tfd)] == pc {
		delete(l.pending, int32(pc.tfd))
	}
	if pc.list != nil {
		pc.list.remove(pc)
	}
}

func (pc *pendingConn) freeBuf() {
	if pc.buf != nil && len(*pc.buf) == smallBufSize {
		pc.a.s.small.Put(pc.buf)
	}
	pc.buf, pc.n = nil, 0
}

// bufferedResponse is an http.ResponseWriter that keeps what is written,
// for a refusal answered from the loop.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *bufferedResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedResponse) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// bytes is the response as it goes on the wire.
func (w *bufferedResponse) bytes() []byte {
	resp := &http.Response{
		StatusCode:    w.status,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.Header(),
		ContentLength: int64(w.body.Len()),
		Body:          http.NoBody,
		Close:         true,
	}
	if w.body.Len() > 0 {
		resp.Body = io.NopCloser(&w.body)
	}
	var out bytes.Buffer
	if err := resp.Write(&out); err != nil {
		return nil
	}
	return out.Bytes()
}

// isStopping reports whether Shutdown or Drain began.
func (e *engine) isStopping() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopping
}

// dropReading closes the connections still sending their request: those
// accepted by a (its Close), or all of them (a nil a: Shutdown or Drain,
// which wait for the loops; such a connection has not entered, and
// net/http's Shutdown does not wait for one either).
func (e *engine) dropReading(a *acceptor) {
	e.eachLoop(func(l *loop) {
		for pc := l.reading.head; pc != nil; {
			next := pc.next
			if a == nil || pc.a == a {
				l.expireReading(pc)
			}
			pc = next
		}
	})
}

// expireReading ends pc's wait for its request at the next pass (l.mu
// held), if it still waits.
func (l *loop) expireReading(pc *pendingConn) {
	if pc.list == &l.reading {
		l.reading.remove(pc)
		pc.expired = true
		l.queuePending(pc)
	}
}
