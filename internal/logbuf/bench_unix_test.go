//go:build unix

package logbuf

import (
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"wsbridge/internal/testpeer"
)

// TestMain makes the test binary, started with LOGBUF_ECHO=1, the echo
// process BenchmarkLogIdle waits on.
func TestMain(m *testing.M) {
	if os.Getenv("LOGBUF_ECHO") == "1" {
		echo()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// echo sends back each byte of stdin 100 µs after it came, the time it
// spins, so that the benchmark's process is idle for that long.
func echo() {
	var b [1]byte
	for {
		if _, err := os.Stdin.Read(b[:]); err != nil {
			return
		}
		for t := time.Now(); time.Since(t) < 100*time.Microsecond; {
		}
		if _, err := os.Stdout.Write(b[:]); err != nil {
			return
		}
	}
}

// BenchmarkLogIdle: each op is what a bridge does for an event. The
// process waits, idle, for a byte from another process (a round trip
// through an echoing child), with raw system calls as the event loop
// makes them, and then logs a line to /dev/null, directly or through a
// Writer. It reports the process's CPU per op. Logged directly, each line
// is an ordinary system call made after the process was idle, which wakes
// the runtime's sysmon thread, and sysmon then naps 20 µs at a time until
// it finds the process idle again. Through a Writer that happens once per
// batch.
func BenchmarkLogIdle(b *testing.B) {
	line := []byte("tunnel INFO: 2026/11/27 22:26:26 session 127.0.0.1:45698 -> 127.0.0.1:42485 opened\n")
	for _, bc := range []struct {
		name     string
		buffered bool
	}{{"direct", false}, {"logbuf", true}} {
		b.Run(bc.name, func(b *testing.B) {
			null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer null.Close()
			var w io.Writer = null
			if bc.buffered {
				lb := New(null, 10*time.Millisecond, 64<<10, PipeBuf)
				defer lb.Close()
				w = lb
			}
			ping, pong := startEcho(b)
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			cpu0 := testpeer.ProcessCPU(b)
			b.ResetTimer()
			for b.Loop() {
				roundTrip(b, ping, pong)
				w.Write(line)
			}
			b.StopTimer()
			b.ReportMetric(float64(testpeer.ProcessCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// startEcho starts the test binary as an echo process and returns the
// pipes to its input and from its output; it stops with the benchmark.
func startEcho(b *testing.B) (ping, pong *os.File) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "LOGBUF_ECHO=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return in.(*os.File), out.(*os.File)
}

// roundTrip writes a byte to ping and waits for it on pong through Go's
// poller, both with raw system calls.
func roundTrip(b *testing.B, ping, pong *os.File) {
	var one [1]byte
	p := uintptr(unsafe.Pointer(&one[0]))
	var e unix.Errno
	wc, err := ping.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	if err := wc.Write(func(fd uintptr) bool {
		_, _, e = unix.RawSyscall(unix.SYS_WRITE, fd, p, 1)
		return e != unix.EAGAIN
	}); err != nil || e != 0 {
		b.Fatal(err, e)
	}
	rc, err := pong.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	if err := rc.Read(func(fd uintptr) bool {
		_, _, e = unix.RawSyscall(unix.SYS_READ, fd, p, 1)
		return e != unix.EAGAIN
	}); err != nil || e != 0 {
		b.Fatal(err, e)
	}
}
