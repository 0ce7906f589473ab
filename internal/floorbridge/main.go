//go:build linux

// Command floorbridge is a measuring stick, not a product: the least work a
// WebSocket-to-TCP bridge can do per connection and per byte on Linux, to
// tell what wsbench's figures allow on a given machine. One thread, one
// level-triggered epoll set, raw system calls, no logging, no limits, no
// checks beyond what the benchmark needs: of the handshake only the key is
// read, the target is dialled with a blocking connect, writes block,
// control frames other than Close and Ping are dropped. The close mapping
// is the product's, as it costs a turn through the target: the client's
// Close becomes a FIN to the target, and the target's FIN then the Close
// back (with the FIN, in one segment). What it costs
// (wsbench's bridge CPU) is what the kernel charges any bridge for the same
// traffic plus next to nothing; README "Performance" compares it with
// wsbridge and the reference bridge.
//
//	go build -o floorbridge ./internal/floorbridge
//	floorbridge LISTEN_ADDR TARGET_ADDR       (IPv4 addresses: 127.0.0.1:6080 127.0.0.1:5900)
package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"wsbridge/frames"
)

const bufSize = 256 << 10

// conn is one session: the client's socket, the target's once dialled,
// the handshake until it is whole, then the client's frames.
type conn struct {
	cfd, tfd int
	open     bool
	req      []byte
	parser   *frames.Parser
	pend     []byte // the start of a header or control frame, kept for the next read
	closing  bool   // the client sent Close: the target has its FIN, its own ends the session
	closeMsg []byte // the client's Close payload, echoed then
}

// bridge is the one event loop: every socket of every session in one
// level-triggered epoll set.
type bridge struct {
	epfd   int
	target unix.Sockaddr
	conns  map[int]*conn
	buf    []byte
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: floorbridge LISTEN_ADDR TARGET_ADDR")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1)
	runtime.LockOSThread()
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "floorbridge:", err)
		os.Exit(1)
	}
}

// sockaddr parses an IPv4 host:port.
func sockaddr(s string) (unix.Sockaddr, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", s, err)
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}, nil
}

func run(listen, target string) error {
	la, err := sockaddr(listen)
	if err != nil {
		return err
	}
	ta, err := sockaddr(target)
	if err != nil {
		return err
	}
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(lfd)
	if err := unix.SetsockoptInt(lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("setsockopt: %w", err)
	}
	if err := unix.Bind(lfd, la); err != nil {
		return fmt.Errorf("bind %s: %w", listen, err)
	}
	if err := unix.Listen(lfd, 1024); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return serve(lfd, ta, -1)
}

// serve bridges the connections accepted on the non-blocking listening
// socket lfd to target until stop (an eventfd, or -1 for never) becomes
// readable.
func serve(lfd int, target unix.Sockaddr, stop int) error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	defer unix.Close(epfd)
	b := &bridge{epfd: epfd, target: target, conns: map[int]*conn{}, buf: make([]byte, frames.MaxHeaderLen+bufSize)}
	defer func() {
		for _, c := range b.conns {
			b.drop(c)
		}
	}()
	b.add(lfd)
	if stop >= 0 {
		b.add(stop)
	}
	events := make([]unix.EpollEvent, 256)
	for {
		// Blocking calls go through Syscall, which tells the runtime: a
		// goroutine blocked in RawSyscall could not be stopped for the
		// garbage collector, and the whole program would wait with it.
		r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
			uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return fmt.Errorf("epoll_pwait: %w", e)
		}
		for _, ev := range events[:r] {
			switch fd := int(ev.Fd); {
			case fd == stop:
				return nil
			case fd == lfd:
				b.accept(lfd)
			default:
				if c := b.conns[fd]; c == nil {
					continue
				} else if fd == c.cfd {
					b.fromClient(c)
				} else {
					b.fromTarget(c)
				}
			}
		}
	}
}

// add puts fd in the epoll set, for reading.
func (b *bridge) add(fd int) {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	unix.EpollCtl(b.epfd, unix.EPOLL_CTL_ADD, fd, &ev)
}

// accept takes every pending connection; their sockets block.
func (b *bridge) accept(lfd int) {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
		if e != 0 {
			return
		}
		fd := int(r)
		c := &conn{cfd: fd, tfd: -1, parser: frames.NewParser(frames.RoleServer)}
		b.conns[fd] = c
		b.add(fd)
	}
}

// recv reads what fd holds into p without waiting: -1 if nothing, 0 at
// the end of the stream or on an error.
func recv(fd int, p []byte) int {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		return -1
	}
	if e != 0 {
		return 0
	}
	return int(r)
}

// send writes all of p (the sockets block).
func send(fd int, p []byte) bool {
	for len(p) > 0 {
		r, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return false
		}
		p = p[r:]
	}
	return true
}

// drop closes a session's sockets.
func (b *bridge) drop(c *conn) {
	delete(b.conns, c.cfd)
	unix.Close(c.cfd)
	if c.tfd >= 0 {
		delete(b.conns, c.tfd)
		unix.Close(c.tfd)
	}
}

// maxRequest bounds a handshake that never ends.
const maxRequest = 16 << 10

// handshake collects the upgrade request; once it is whole, it dials the
// target and answers 101.
func (b *bridge) handshake(c *conn, p []byte) {
	c.req = append(c.req, p...)
	end := bytes.Index(c.req, []byte("\r\n\r\n"))
	if end < 0 {
		if len(c.req) > maxRequest {
			b.drop(c)
		}
		return
	}
	var key []byte
	for _, line := range bytes.Split(c.req[:end], []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("Sec-WebSocket-Key")) {
			key = bytes.TrimSpace(v)
		}
	}
	tfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil || key == nil {
		b.drop(c)
		return
	}
	if err := unix.Connect(tfd, b.target); err != nil {
		unix.Close(tfd)
		b.drop(c)
		return
	}
	unix.SetsockoptInt(tfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	unix.SetsockoptInt(c.cfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	c.tfd = tfd
	b.conns[tfd] = c
	b.add(tfd)
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		frames.AcceptKey(string(key)) + "\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
	if !send(c.cfd, []byte(resp)) {
		b.drop(c)
		return
	}
	c.open = true
	rest := c.req[end+4:]
	c.req = nil
	if len(rest) > 0 {
		b.frames(c, append([]byte(nil), rest...))
	}
}

// fromClient reads once from the client: the handshake, then frames.
func (b *bridge) fromClient(c *conn) {
	k := copy(b.buf, c.pend)
	n := recv(c.cfd, b.buf[k:])
	if n < 0 {
		return
	}
	if n == 0 {
		b.drop(c)
		return
	}
	if c.closing {
		return // nothing more is taken from a client after its Close
	}
	if !c.open {
		b.handshake(c, b.buf[:n])
		return
	}
	b.frames(c, b.buf[:k+n])
}

// frames decodes the client's frames in p, unmasked in place, and writes
// their payload to the target in one write. A Close (or a protocol error)
// is answered after the payload before it has gone out.
func (b *bridge) frames(c *conn, p []byte) {
	out := p[:0] // payload gathered in place: it never overtakes p
	for len(p) > 0 {
		ch, k, err := c.parser.Next(p)
		if err != nil {
			b.finish(c, out, frames.AppendClose(nil, frames.CloseCodeOf(err), ""))
			return
		}
		if ch.Kind == frames.NeedMore {
			break
		}
		switch {
		case ch.Kind == frames.Payload:
			out = append(out, ch.Payload...)
		case ch.Kind == frames.Control && ch.Header.Op == frames.OpClose:
			b.halfClose(c, out, ch.Payload)
			return
		case ch.Kind == frames.Control && ch.Header.Op == frames.OpPing:
			b.sendControl(c, frames.OpPong, ch.Payload)
		}
		p = p[k:]
	}
	c.pend = append(c.pend[:0], p...)
	if len(out) > 0 && !send(c.tfd, out) {
		b.drop(c)
	}
}

// finish sends the payload still held to the target, a Close with the
// given payload to the client, and ends the session.
func (b *bridge) finish(c *conn, out, closePayload []byte) {
	if len(out) > 0 {
		send(c.tfd, out)
	}
	b.sendControl(c, frames.OpClose, closePayload)
	b.drop(c)
}

// halfClose sends the payload still held to the target, then a FIN; the
// target's own FIN ends the session (fromTarget).
func (b *bridge) halfClose(c *conn, out, closePayload []byte) {
	if len(out) > 0 && !send(c.tfd, out) {
		b.drop(c)
		return
	}
	unix.Shutdown(c.tfd, unix.SHUT_WR)
	c.closing = true
	c.closeMsg = append([]byte(nil), closePayload...)
}

// sendControl writes a control frame to the client.
func (b *bridge) sendControl(c *conn, op frames.Opcode, payload []byte) {
	var f controlBuf
	send(c.cfd, f.frame(op, payload))
}

// controlBuf holds a control frame, on the stack.
type controlBuf [frames.MaxHeaderLen + frames.MaxControlPayload]byte

// frame puts a control frame from the server in f and returns it.
func (f *controlBuf) frame(op frames.Opcode, payload []byte) []byte {
	n := frames.PutHeader(f[:], frames.Header{Fin: true, Op: op, Length: int64(len(payload))})
	return f[:n+copy(f[n:], payload)]
}

// fromTarget reads once from the target and sends what came as one binary
// frame; the end of the stream becomes a Close.
func (b *bridge) fromTarget(c *conn) {
	n := recv(c.tfd, b.buf[frames.MaxHeaderLen:])
	if n < 0 {
		return
	}
	switch {
	case n == 0 && c.closing:
		// The closing handshake ends: the Close waits (MSG_MORE) for the
		// FIN that drop's close sends, one segment for both.
		var buf controlBuf
		f := buf.frame(frames.OpClose, c.closeMsg)
		unix.Syscall6(unix.SYS_SENDTO, uintptr(c.cfd), uintptr(unsafe.Pointer(&f[0])), uintptr(len(f)), unix.MSG_MORE, 0, 0)
		b.drop(c)
		return
	case n == 0:
		b.sendControl(c, frames.OpClose, frames.AppendClose(nil, frames.CloseNormal, ""))
		b.drop(c)
		return
	}
	h := frames.Header{Fin: true, Op: frames.OpBinary, Length: int64(n)}
	start := frames.MaxHeaderLen - frames.HeaderLen(h)
	frames.PutHeader(b.buf[start:], h)
	if !send(c.cfd, b.buf[start:frames.MaxHeaderLen+n]) {
		b.drop(c)
	}
}
