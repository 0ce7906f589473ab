package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// syslogWriter is --syslog: every log line also goes to a syslog server,
// as websockify sends it: RFC 5424 (`<pri>1 time host wsbridge pid - -
// msg`), or with --legacy-syslog the BSD form (`<pri>wsbridge[pid]: msg`);
// facility user; host:port means UDP, anything else a local unix socket
// such as /dev/log (datagram, or stream with a newline after each
// message). The severity comes from the line's level.
//
// Sending never holds the bridge up: each message has a short deadline,
// a failed send reconnects once, and what still fails is dropped (the
// line is in the main log anyway).
type syslogWriter struct {
	network, addr string
	legacy        bool
	hostname      string
	pid           int
	now           func() time.Time

	mu   sync.Mutex
	conn net.Conn
}

// syslog details.
const (
	syslogFacilityUser = 1
	syslogIdent        = "wsbridge"
	syslogSendTimeout  = time.Second
)

// newSyslog parses --syslog's SERVER and connects (a unix socket must
// exist; UDP "connects" without a packet).
func newSyslog(server string, legacy bool) (*syslogWriter, error) {
	w := &syslogWriter{legacy: legacy, pid: os.Getpid(), now: time.Now}
	if host, port, err := net.SplitHostPort(server); err == nil {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, usagef("wsbridge: --syslog %s: bad port %q", server, port)
		}
		w.network, w.addr = "udp", net.JoinHostPort(host, port)
	} else {
		w.network, w.addr = "unixgram", server
	}
	w.hostname, _ = os.Hostname()
	if w.hostname == "" {
		w.hostname = "-"
	}
	if err := w.connect(); err != nil {
		return nil, fmt.Errorf("wsbridge: --syslog %s: %w", server, err)
	}
	return w, nil
}

// connect (re)opens the connection; w.mu is held or w is not shared yet.
func (w *syslogWriter) connect() error {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
	c, err := net.DialTimeout(w.network, w.addr, syslogSendTimeout)
	if w.network == "unixgram" && errors.Is(err, syscall.EPROTOTYPE) {
		w.network = "unix" // a stream socket (rsyslog's imuxsock can be either)
		c, err = net.DialTimeout(w.network, w.addr, syslogSendTimeout)
	}
	if err != nil {
		return err
	}
	w.conn = c
	return nil
}

// Write sends one log line (the loggers write one line per call).
func (w *syslogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for try := 0; try < 2; try++ {
		if w.conn == nil {
			if w.connect() != nil {
				continue
			}
		}
		msg := w.format(string(p)) // after connect: the framing depends on the socket type
		w.conn.SetWriteDeadline(time.Now().Add(syslogSendTimeout))
		if _, err := w.conn.Write(msg); err == nil {
			break
		}
		w.conn.Close()
		w.conn = nil
	}
	return len(p), nil
}

// format turns a logger line ("tunnel WARNING: 2026/11/26 15:04:05 msg")
// into a syslog message; w.mu is held.
func (w *syslogWriter) format(line string) []byte {
	line = strings.TrimRight(line, "\n")
	sev, text := parseLogLine(line)
	pri := syslogFacilityUser*8 + sev
	var b []byte
	if w.legacy {
		b = fmt.Appendf(nil, "<%d>%s[%d]: ", pri, syslogIdent, w.pid)
	} else {
		b = fmt.Appendf(nil, "<%d>1 %s %s %s %d - - ", pri, w.now().UTC().Format("2006-01-02T15:04:05.000000Z"), w.hostname, syslogIdent, w.pid)
	}
	b = append(b, strings.ReplaceAll(text, "\n", " ")...)
	if w.network != "unixgram" && w.network != "udp" {
		b = append(b, '\n') // stream: one message per line
	}
	return b
}

// parseLogLine splits a pion log line into the syslog severity of its
// level and "scope: message", without the logger's own date and time
// (syslog adds its own).
func parseLogLine(line string) (severity int, text string) {
	scope, rest, ok1 := strings.Cut(line, " ")
	level, rest, ok2 := strings.Cut(rest, ": ")
	if !ok1 || !ok2 {
		return 5, line // notice: not a logger line
	}
	switch level {
	case "ERROR":
		severity = 3
	case "WARNING":
		severity = 4
	case "INFO":
		severity = 6
	case "DEBUG", "TRACE":
		severity = 7
	default:
		return 5, line
	}
	// "2026/11/26 15:04:05 " (info and above) or "15:04:05.000000 " (debug).
	if len(rest) >= 11 && rest[4] == '/' && rest[7] == '/' && rest[10] == ' ' {
		rest = rest[11:]
	}
	if len(rest) >= 9 && rest[2] == ':' && rest[5] == ':' {
		if _, after, ok := strings.Cut(rest, " "); ok {
			rest = after
		}
	}
	return severity, scope + ": " + rest
}

// Close closes the connection.
func (w *syslogWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		return nil
	}
	return w.conn.Close()
}
