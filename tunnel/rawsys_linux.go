package tunnel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls that set a connection up and tear it down on the event
// loop (socket, setsockopt, connect, epoll_ctl, getsockopt, shutdown,
// close, and accept4 on the listening socket) never block: every socket
// is non-blocking and none lingers. They are made raw, without the
// runtime's system call bookkeeping, like the loop's reads, writes and
// polls (see sysCall): that bookkeeping wakes the runtime's sysmon
// thread from its deep sleep whenever the process was idle, and sysmon
// then naps 20 µs at a time until it finds the process idle again. Under
// a stream of new connections that cycle ran once or more per connection.

// rawErr is e as an error: nil for 0, else the bare Errno.
func rawErr(e unix.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

// rawClose closes fd.
func rawClose(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return rawErr(e)
}

// rawEpollCtl changes fd's place in the epoll set epfd (ev is nil for
// EPOLL_CTL_DEL).
func rawEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return rawErr(e)
}

// rawShutdown shuts fd down for how (unix.SHUT_WR: a FIN after what was
// written).
func rawShutdown(fd, how int) error {
	_, _, e := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0)
	return rawErr(e)
}

// rawNewSocket makes a socket.
func rawNewSocket(family, typ, proto int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), uintptr(typ), uintptr(proto))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// rawSetsockoptInt sets an int option on fd.
func rawSetsockoptInt(fd, level, opt, value int) error {
	v := int32(value)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), 4, 0)
	return rawErr(e)
}

// rawGetsockoptInt reads an int option of fd.
func rawGetsockoptInt(fd, level, opt int) (int, error) {
	var v int32
	n := uint32(4)
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return 0, e
	}
	return int(v), nil
}

// rawConnect starts connecting the non-blocking socket fd to da (EINPROGRESS
// while the handshake goes on).
func rawConnect(fd int, da dialAddr) error {
	var (
		sa4 unix.RawSockaddrInet4
		sa6 unix.RawSockaddrInet6
		p   unsafe.Pointer
		n   uintptr
	)
	port := da.ap.Port()
	if da.ap.Addr().Is4() {
		sa4.Family = unix.AF_INET
		sa4.Port = port<<8 | port>>8 // network byte order
		sa4.Addr = da.ap.Addr().As4()
		p, n = unsafe.Pointer(&sa4), unsafe.Sizeof(sa4)
	} else {
		sa6.Family = unix.AF_INET6
		sa6.Port = port<<8 | port>>8
		sa6.Addr = da.ap.Addr().As16()
		sa6.Scope_id = da.zone
		p, n = unsafe.Pointer(&sa6), unsafe.Sizeof(sa6)
	}
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(p), n)
	return rawErr(e)
}
