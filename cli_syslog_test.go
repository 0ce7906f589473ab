package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"wsbridge/frames"
)

func TestParseLogLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		sev  int
		text string
	}{
		{"tunnel INFO: 2026/11/26 15:04:05 session closed client=a", 6, "tunnel: session closed client=a"},
		{"main WARNING: 2026/11/26 15:04:05 sd_notify: x", 4, "main: sd_notify: x"},
		{"tokens ERROR: 2026/11/26 15:04:05 broken", 3, "tokens: broken"},
		{"tunnel DEBUG: 15:04:05.123456 pump.go:12: detail", 7, "tunnel: pump.go:12: detail"},
		{"something else entirely", 5, "something else entirely"},
	} {
		sev, text := parseLogLine(tc.line)
		if sev != tc.sev || text != tc.text {
			t.Errorf("parseLogLine(%q) = %d %q, want %d %q", tc.line, sev, text, tc.sev, tc.text)
		}
	}
}

// readDatagram reads one message from c within waitLimit.
func readDatagram(t *testing.T, c net.PacketConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	buf := make([]byte, 4096)
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no syslog message: %v", err)
	}
	return string(buf[:n])
}

// TestSyslogFormats: RFC 5424 over UDP and the legacy format over a unix
// datagram socket, as websockify writes them.
func TestSyslogFormats(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	w, err := newSyslog(udp.LocalAddr().String(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte("main WARNING: 2026/11/26 15:04:05 something odd\n"))
	got := readDatagram(t, udp)
	re := regexp.MustCompile(`^<12>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ wsbridge \d+ - - main: something odd$`)
	if !re.MatchString(got) {
		t.Errorf("RFC 5424 message %q does not match %s", got, re)
	}

	sock := filepath.Join(shortTempDir(t), "log")
	ux, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ux.Close()
	lw, err := newSyslog(sock, true)
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Close()
	lw.Write([]byte("tunnel INFO: 2026/11/26 15:04:05 session opened\n"))
	if got, re := readDatagram(t, ux), regexp.MustCompile(`^<14>wsbridge\[\d+\]: tunnel: session opened$`); !re.MatchString(got) {
		t.Errorf("legacy message %q does not match %s", got, re)
	}

	if _, err := newSyslog(filepath.Join(t.TempDir(), "nothing-here"), false); err == nil || !strings.Contains(err.Error(), "--syslog") {
		t.Errorf("--syslog to a missing socket: got %v, want an error naming the option", err)
	}
}

// TestSyslogAndRecordThroughRun: with --syslog and --record, a session's
// log lines reach the syslog server and its bytes land in PREFIX.1.
func TestSyslogAndRecordThroughRun(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	target := namedTarget(t, "t1")
	prefix := filepath.Join(t.TempDir(), "rec")
	b := startBridge(t, "--syslog", udp.LocalAddr().String(), "--record", prefix, "127.0.0.1:0", target)
	s := b.upgrade(t, wsReq{})
	if g := s.greeting(t); g != "t1" {
		t.Fatalf("greeting %q", g)
	}
	s.echo(t, "recorded line")
	s.wr.WriteClose(frames.CloseNormal, "")
	b.waitLog(t, "session closed client=")
	var msgs []string
	for !strings.Contains(strings.Join(msgs, "\n"), "session closed") {
		msgs = append(msgs, readDatagram(t, udp))
	}
	if last := msgs[len(msgs)-1]; !strings.HasPrefix(last, "<14>1 ") || !strings.Contains(last, "wsbridge") || !strings.Contains(last, "tunnel: session closed client=") {
		t.Errorf("syslog message %q: want <14>1 ... tunnel: session closed", last)
	}
	b.waitLog(t, "recording session 1 to "+prefix+".1")
	if err := b.stop(t); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(prefix + ".1")
	if err != nil {
		t.Fatal(err)
	}
	data := string(raw)
	for _, want := range []string{"var VNC_frame_data = [\n", "{t1\\n',", "}recorded line\\n',", "{recorded line\\n',", "'EOF'];\n"} {
		if !strings.Contains(data, want) {
			t.Errorf("recording lacks %q:\n%s", want, data)
		}
	}
}

// TestSyslogBatchedLinesApart: the log is written in batches (as main
// runs), joined into few writes on stderr, yet every line still reaches
// the syslog server as a message of its own, the startup lines logged
// together included.
func TestSyslogBatchedLinesApart(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	b := startRunEnv(t, runEnv{BatchLog: true}, "--syslog", udp.LocalAddr().String(), "--run-once")
	c := b.upgrade(t)
	c.Close()
	if err := b.wait(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	var msgs []string
	for len(msgs) == 0 || !strings.HasSuffix(strings.TrimSpace(msgs[len(msgs)-1]), " stopped") { // the last line
		msgs = append(msgs, readDatagram(t, udp))
	}
	for _, m := range msgs {
		if strings.Contains(m, " INFO: ") { // a logger line left whole: a second line in the message
			t.Errorf("syslog message %q holds more than one line", m)
		}
	}
	if lines := strings.Count(b.stderr.String(), "\n"); lines != len(msgs) {
		t.Errorf("%d lines on stderr, %d syslog messages:\n%s", lines, len(msgs), b.stderr)
	}
}
