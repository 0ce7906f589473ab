package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"wsbridge/internal/testpeer"
)

func TestParseStat(t *testing.T) {
	// The name holds ") (" and spaces: the fields start after the last ')'.
	line := "4242 (a) (b c) S 1 4240 4240 0 -1 4194560 100 0 0 0 150 25 7 3 20 0 1 0 99 0 0\n"
	st, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if st.pgrp != 4240 || st.ticks != 150+25+7+3 {
		t.Fatalf("parseStat = %+v, want pgrp 4240, 185 ticks", st)
	}
	for _, bad := range []string{"", "4242 (x) S 1 2", "4242 (x) S 1 zz 3 0 -1 0 0 0 0 0 1 1 1 1 20"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestParseSystems(t *testing.T) {
	got, err := parseSystems([]string{"a=wss:bin --x {port}", "b=tcp:socat X:Y"})
	if err != nil || len(got) != 2 || got[0] != (system{"a", "wss", "bin --x {port}"}) || got[1].cmd != "socat X:Y" {
		t.Fatalf("parseSystems = %+v, %v", got, err)
	}
	for _, bad := range []string{"a", "a=wss", "=ws:x", "a=udp:x", "a=ws:"} {
		if _, err := parseSystems([]string{bad}); err == nil {
			t.Errorf("parseSystems(%q) succeeded", bad)
		}
	}
	var b byteSize
	if err := b.Set("3MiB"); err != nil || b != 3<<20 {
		t.Fatalf("Set(3MiB) = %d, %v", b, err)
	}
	if err := b.Set("-1"); err == nil {
		t.Fatal("Set(-1) succeeded")
	}
}

// TestRun measures the real wsbridge binary, with and without TLS, in two
// interleaved rounds of a few MiB, and checks that every round moved every
// byte and was measured.
func TestRun(t *testing.T) {
	bin := testpeer.BuildBridge(t)
	systems := []system{
		{"wsbridge-wss", "wss", bin + " --ssl-only --cert {cert} --key {key} 127.0.0.1:{port} {target}"},
		{"wsbridge-ws", "ws", bin + " 127.0.0.1:{port} {target}"},
	}
	const n = 8 << 20
	var log strings.Builder
	res, err := run(systems, n, 64<<10, 2, &log)
	if err != nil {
		t.Fatal(err)
	}
	for _, sys := range systems {
		rs := res[sys.name]
		if len(rs) != 2 {
			t.Fatalf("%s: %d rounds, want 2", sys.name, len(rs))
		}
		for _, r := range rs {
			if r.errStr != "" || r.mbps[0] <= 0 || r.mbps[1] <= 0 || r.cpu[0] < 0 || r.cpu[1] < 0 {
				t.Fatalf("%s: round %+v\n%s", sys.name, r, log.String())
			}
			if (sys.mode == "wss") != strings.HasPrefix(r.suite, "TLS_") {
				t.Fatalf("%s: cipher suite %q", sys.name, r.suite)
			}
		}
	}
	var table bytes.Buffer
	printTable(&table, systems, res, n)
	if !strings.Contains(table.String(), "| wsbridge-wss | wss |") || strings.Count(table.String(), "\n") != 4 {
		t.Fatalf("table:\n%s", table.String())
	}
}

// TestCorruptionCaught passes each direction through a relay that changes
// one byte, and expects both the backend and the client to notice.
func TestCorruptionCaught(t *testing.T) {
	const n = 1 << 20
	be, err := startBackend(n)
	if err != nil {
		t.Fatal(err)
	}
	defer be.close()
	for _, dirn := range []string{"up", "down"} {
		target := be.sink.Addr().String()
		if dirn == "down" {
			target = be.source.Addr().String()
		}
		addr := corruptingRelay(t, target, 300_000)
		c, err := dialClient("tcp", addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if dirn == "up" {
			err = c.sendAll(n, 64<<10, be.sinkDone)
		} else {
			err = c.receiveAll(n, 64<<10)
		}
		c.Close()
		if err == nil || !strings.Contains(err.Error(), "not what the") {
			t.Fatalf("%s: error %v, want a mismatch", dirn, err)
		}
	}
}

// corruptingRelay relays one connection to target, both ways, adding 1 to
// byte at of each direction. It returns its address.
func corruptingRelay(t *testing.T, target string, at int) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		u, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		defer u.Close()
		var pipes sync.WaitGroup
		pipes.Go(func() { flipCopy(u, c, at); u.(*net.TCPConn).CloseWrite() })
		pipes.Go(func() { flipCopy(c, u, at); c.(*net.TCPConn).CloseWrite() })
		pipes.Wait()
	})
	return ln.Addr().String()
}

// flipCopy copies src to dst, adding 1 to byte at.
func flipCopy(dst io.Writer, src io.Reader, at int) {
	buf := make([]byte, 32<<10)
	off := 0
	for {
		k, err := src.Read(buf)
		if at >= off && at < off+k {
			buf[at-off]++
		}
		off += k
		if _, werr := dst.Write(buf[:k]); werr != nil || err != nil {
			return
		}
	}
}
