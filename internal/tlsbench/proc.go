package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clkTck is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const clkTck = 100

// proc is a system under test: sh running its command, leading a process
// group of its own.
type proc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer // the first of what it says, for errors
	exited chan struct{}
}

// startProc runs cmd with sh.
func startProc(cmd string) (*proc, error) {
	p := &proc{cmd: exec.Command("sh", "-c", cmd), exited: make(chan struct{})}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.Stderr = &limitedWriter{buf: &p.stderr, left: 4096}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %q: %w", cmd, err)
	}
	go func() { // owned by p: stop waits for it
		p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// waitListening waits until something listens on addr (a 127.0.0.1
// address), reading /proc/net/tcp so that no connection is made, or
// fails if the process exits first.
func (p *proc) waitListening(addr string, timeout time.Duration) error {
	_, port, _ := strings.Cut(addr, ":")
	pn, _ := strconv.Atoi(port)
	want := fmt.Sprintf(" 0100007F:%04X 00000000:0000 0A ", pn)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	end := time.After(timeout)
	for {
		if b, err := os.ReadFile("/proc/net/tcp"); err == nil && bytes.Contains(b, []byte(want)) {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%q exited: %s", strings.Join(p.cmd.Args, " "), bytes.TrimSpace(p.stderr.Bytes()))
		case <-end:
			return fmt.Errorf("%q: nothing listens on %s after %v", strings.Join(p.cmd.Args, " "), addr, timeout)
		case <-tick.C:
		}
	}
}

// cpu returns the CPU-seconds used by the process group so far: every
// member's user and system time, with that of its reaped children.
func (p *proc) cpu() (float64, error) {
	pgid := p.cmd.Process.Pid
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, fmt.Errorf("cpu: %w", err)
	}
	var ticks int64
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone since the glob
		}
		st, err := parseStat(string(b))
		if err != nil {
			return 0, fmt.Errorf("cpu: %s: %w", path, err)
		}
		if st.pgrp == pgid {
			ticks += st.ticks
		}
	}
	return float64(ticks) / clkTck, nil
}

// stat is what cpu needs of /proc/PID/stat.
type stat struct {
	pgrp  int
	ticks int64 // utime + stime + cutime + cstime
}

// parseStat reads a /proc/PID/stat line. The command name, in
// parentheses, may hold spaces and parentheses itself: the fields start
// after the last ')'.
func parseStat(s string) (stat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return stat{}, errors.New("no command name")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): field k is f[k-3].
	if len(f) < 15 {
		return stat{}, fmt.Errorf("%d fields after the name", len(f))
	}
	var st stat
	var err error
	if st.pgrp, err = strconv.Atoi(f[5-3]); err != nil {
		return stat{}, fmt.Errorf("pgrp: %w", err)
	}
	for k := 14; k <= 17; k++ {
		v, err := strconv.ParseInt(f[k-3], 10, 64)
		if err != nil {
			return stat{}, fmt.Errorf("field %d: %w", k, err)
		}
		st.ticks += v
	}
	return st, nil
}

// stop ends the process group: SIGTERM, then SIGKILL after 5 s.
func (p *proc) stop() {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
	// Members that outlive sh (a relay it started in the background).
	syscall.Kill(-pgid, syscall.SIGKILL)
}

// limitedWriter keeps the first left bytes written to it.
type limitedWriter struct {
	buf  *bytes.Buffer
	left int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if k := min(len(p), w.left); k > 0 {
		w.buf.Write(p[:k])
		w.left -= k
	}
	return len(p), nil
}
