package testpeer

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"testing"
)

// FreePort returns a loopback port that was free a moment ago, for
// programs that cannot be told to pick their own and report it.
//
// The port is taken from below the kernel's ephemeral range where it can
// be read (Linux), so that the sockets other tests open meanwhile (every
// listen on port 0 and every outgoing connection takes an ephemeral port)
// cannot take it before the program binds it; only another FreePort could,
// one in thousands.
func FreePort(t testing.TB) int {
	t.Helper()
	if lo, ok := ephemeralLow(); ok && lo > freeLow+1000 {
		for range 100 {
			port := freeLow + rand.IntN(lo-freeLow)
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				ln.Close()
				return port
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// freeLow is the lowest port FreePort hands out: clear of the well-known
// services a test machine may run.
const freeLow = 20000

// ephemeralLow reads the start of the kernel's ephemeral port range.
func ephemeralLow() (int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil {
		return 0, false
	}
	return lo, true
}

// ClosedPort returns a loopback address that refuses connections for the
// rest of the test: its port is bound by a socket that does not listen
// (so a connection gets a reset) and that no other socket can bind until
// the test ends. A port merely closed could be taken by any test running
// alongside.
func ClosedPort(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	syscall.CloseOnExec(fd)
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}
