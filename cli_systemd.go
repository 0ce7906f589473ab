package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
)

// This file holds what wsbridge takes from its service manager: listening
// sockets passed by systemd (socket activation) or inetd (--inetd), and
// sd_notify messages (READY, STOPPING, WATCHDOG) back to systemd.

// socketActivated reports whether systemd passed listening sockets to
// this process: LISTEN_PID is its pid and LISTEN_FDS is at least 1, as
// sd_listen_fds(3) checks. env is the process environment.
func socketActivated(env map[string]string) bool {
	pid, err := strconv.Atoi(env["LISTEN_PID"])
	if err != nil || pid != os.Getpid() {
		return false
	}
	n, err := strconv.Atoi(env["LISTEN_FDS"])
	return err == nil && n >= 1
}

// inheritedListeners returns the listening sockets the service manager
// passed, or nil if wsbridge opens its own: systemd's (fd 3 and up, named
// by LISTEN_FDNAMES) when socket activated, or inetd's on stdin with
// --inetd. Each fd is turned into a net.Listener and its original closed,
// so that closing the listener at shutdown really stops accepting. The
// LISTEN_* variables are removed from the environment, as sd_listen_fds
// does with unset_environment.
func inheritedListeners(s *settings) ([]net.Listener, error) {
	var files []*os.File
	what := "--inetd: stdin"
	switch {
	case s.activated:
		files = activation.Files(true)
		what = "socket activation: fd"
	case s.Inetd:
		files = []*os.File{os.Stdin}
	default:
		return nil, nil
	}
	if len(files) == 0 {
		return nil, errors.New("wsbridge: socket activation: LISTEN_FDS passed no file descriptor")
	}
	var lns []net.Listener
	for _, f := range files {
		fd, name := f.Fd(), f.Name()
		ln, err := net.FileListener(f)
		f.Close() // FileListener holds a duplicate
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("wsbridge: %s %d (%s) is not a listening stream socket: %w", what, fd, name, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// notifier sends sd_notify(3) messages to systemd over the datagram
// socket NOTIFY_SOCKET names. A nil *notifier (NOTIFY_SOCKET unset: not
// run by systemd, or not as Type=notify) does nothing.
type notifier struct {
	conn     *net.UnixConn
	watchdog time.Duration // WATCHDOG_USEC; 0 means systemd expects no keep-alives
}

// newNotifier connects to NOTIFY_SOCKET from env; a name starting with
// '@' is an abstract socket, which Go's net package understands. It
// returns nil, nil without NOTIFY_SOCKET.
func newNotifier(env map[string]string) (*notifier, error) {
	path := env["NOTIFY_SOCKET"]
	if path == "" {
		return nil, nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("wsbridge: NOTIFY_SOCKET=%s: %w", path, err)
	}
	n := &notifier{conn: conn}
	// sd_watchdog_enabled(3): WATCHDOG_PID, if set, must be this process.
	pid := env["WATCHDOG_PID"]
	if usec, err := strconv.ParseInt(env["WATCHDOG_USEC"], 10, 64); err == nil && usec > 0 &&
		(pid == "" || pid == strconv.Itoa(os.Getpid())) {
		n.watchdog = time.Duration(usec) * time.Microsecond
	}
	return n, nil
}

// notify sends state lines such as "READY=1" in one datagram.
func (n *notifier) notify(state ...string) error {
	if n == nil {
		return nil
	}
	_, err := n.conn.Write([]byte(strings.Join(state, "\n")))
	return err
}

// keepAlive sends WATCHDOG=1 every half WATCHDOG_USEC, as sd_watchdog_enabled(3)
// recommends, until ctx ends. It returns at once without a watchdog. serve
// runs it on a goroutine it cancels and waits for before it returns.
func (n *notifier) keepAlive(ctx context.Context) {
	if n == nil || n.watchdog <= 0 {
		return
	}
	t := time.NewTicker(n.watchdog / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.notify("WATCHDOG=1") // a lost datagram is retried on the next tick
		}
	}
}

// close closes the socket.
func (n *notifier) close() {
	if n != nil {
		n.conn.Close()
	}
}
