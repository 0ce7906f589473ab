package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wsbridge/tunnel"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

// TestExposition: every event lands in its series, and a scrape shows the
// live totals.
func TestExposition(t *testing.T) {
	tot := tunnel.Totals{Active: 3, Sessions: 7, Up: 1000, Down: 2500}
	m := New(Options{Totals: func() tunnel.Totals { return tot }, Version: "v1.2.3"})
	var _ tunnel.Observer = m

	m.Handshake(tunnel.ResultAccepted)
	m.Handshake(tunnel.ResultAccepted)
	m.Handshake("not_found")
	m.Dialed(3*time.Millisecond, nil)
	m.Dialed(2*time.Second, errors.New("connection refused"))
	m.SessionEnded(tunnel.SessionStats{ClosedBy: "client", CloseCode: 1000, Duration: time.Second})
	m.SessionEnded(tunnel.SessionStats{ClosedBy: "client", CloseCode: 4001})
	m.SessionEnded(tunnel.SessionStats{ClosedBy: "target", CloseCode: 1011, CloseError: "reset", ErrorKind: tunnel.ErrorTarget})
	m.SessionEnded(tunnel.SessionStats{ClosedBy: "client", CloseError: "vanished", ErrorKind: tunnel.ErrorClient})
	m.TokenLookup("TokenRedis", LookupFound)
	m.TokenLookup("TokenRedis", LookupError)

	for _, c := range []struct {
		got  float64
		want float64
		what string
	}{
		{testutil.ToFloat64(m.handshakes.WithLabelValues("accepted")), 2, "accepted handshakes"},
		{testutil.ToFloat64(m.handshakes.WithLabelValues("not_found")), 1, "not_found handshakes"},
		{testutil.ToFloat64(m.errors.WithLabelValues("dial")), 1, "dial errors"},
		{testutil.ToFloat64(m.errors.WithLabelValues("target")), 1, "target errors"},
		{testutil.ToFloat64(m.errors.WithLabelValues("client")), 1, "client errors"},
		{testutil.ToFloat64(m.closes.WithLabelValues("client", "1000")), 1, "client 1000"},
		{testutil.ToFloat64(m.closes.WithLabelValues("client", "4xxx")), 1, "client 4xxx"},
		{testutil.ToFloat64(m.closes.WithLabelValues("client", "none")), 1, "client without a code"},
		{testutil.ToFloat64(m.lookups.WithLabelValues("TokenRedis", "error")), 1, "redis lookup errors"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}

	code, body := get(t, m.Handler(), "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, line := range []string{
		"wsbridge_connections_active 3",
		"wsbridge_connections_total 7",
		`wsbridge_bytes_total{direction="up"} 1000`,
		`wsbridge_bytes_total{direction="down"} 2500`,
		`wsbridge_build_info{version="v1.2.3"} 1`,
		"wsbridge_target_dial_duration_seconds_count 2",
		`wsbridge_target_dial_duration_seconds_bucket{le="0.005"} 1`,
		`wsbridge_handshakes_total{result="dial_failed"} 0`,
		"wsbridge_session_duration_seconds_count 4",
		"go_goroutines ",
		"process_open_fds ",
	} {
		if !strings.Contains(body, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP wsbridge_token_lookups_total Token lookups by token plugin and result (found, not_found, error).
# TYPE wsbridge_token_lookups_total counter
wsbridge_token_lookups_total{result="error",source="TokenRedis"} 1
wsbridge_token_lookups_total{result="found",source="TokenRedis"} 1
`), "wsbridge_token_lookups_total"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(m.Registry()); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// TestHealth: /healthz always answers; /readyz says what is not ready.
func TestHealth(t *testing.T) {
	var notReady error = errors.New("token source: redis: connection refused")
	var sawDeadline bool
	m := New(Options{Ready: func(ctx context.Context) error {
		_, sawDeadline = ctx.Deadline()
		return notReady
	}})
	h := m.Handler()
	if code, body := get(t, h, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	code, body := get(t, h, "/readyz")
	if code != 503 || !strings.Contains(body, "connection refused") {
		t.Errorf("/readyz not ready: %d %q, want 503 with the reason", code, body)
	}
	if !sawDeadline {
		t.Error("Ready got a context without a deadline")
	}
	notReady = nil
	if code, body := get(t, h, "/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz ready: %d %q", code, body)
	}
	if code, _ := get(t, h, "/other"); code != 404 {
		t.Errorf("/other: %d, want 404", code)
	}
}

func TestCodeLabel(t *testing.T) {
	for code, want := range map[int]string{0: "none", 1000: "1000", 1011: "1011", 3000: "3xxx", 4999: "4xxx", 5000: "invalid", 999: "invalid"} {
		if got := codeLabel(code); got != want {
			t.Errorf("codeLabel(%d) = %q, want %q", code, got, want)
		}
	}
}
