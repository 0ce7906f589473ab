package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// metricsAddr waits for the "metrics on http://ADDR/metrics" log line.
func metricsAddr(t *testing.T, b *routed) string {
	t.Helper()
	b.waitLog(t, "/metrics, health checks")
	m := regexp.MustCompile(`metrics on http://(\S+)/metrics`).FindStringSubmatch(b.stderr.String())
	if m == nil {
		t.Fatalf("no metrics address in the log:\n%s", b.stderr)
	}
	return m[1]
}

// scrape fetches url and returns status and body.
func scrape(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// sample returns the value of the series (name with its labels, as
// exposed) in a scrape, or -1 if it is absent.
func sample(body, series string) float64 {
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestMetricsEndpoint runs the bridge with a real Redis token store and
// --metrics-listen, and checks each metric moves with what the clients do,
// and that /readyz follows the token backend.
func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	redis, proc := testpeer.RedisProcess(t)
	t1 := namedTarget(t, "t1")
	dead := testpeer.ClosedPort(t)
	testpeer.RedisCommand(t, redis, "SET", "vm1", t1)
	testpeer.RedisCommand(t, redis, "SET", "gone", dead)
	b := startBridge(t, "--token-plugin", "TokenRedis", "--token-source", redis,
		"--metrics-listen", "127.0.0.1:0", "127.0.0.1:0")
	maddr := metricsAddr(t, b)
	base := "http://" + maddr

	if code, body := scrape(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := scrape(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz with redis up: %d %q, want 200", code, body)
	}

	s, greeting := b.open(t, "vm1")
	if greeting != "t1" {
		t.Fatalf("reached %q, want t1", greeting)
	}
	msg := strings.Repeat("m", 1000)
	s.echo(t, msg)
	b.refuse(t, wsReq{token: "nope"}, http.StatusNotFound, "unknown token")
	r := b.upgrade(t, wsReq{token: "gone"})
	if code, reason := readAll(t, r.rd, io.Discard); code != frames.CloseInternalError {
		t.Errorf("dead target: got close %d %q, want 1011", code, reason)
	}

	_, body := scrape(t, base+"/metrics")
	for series, want := range map[string]float64{
		"wsbridge_connections_active":                                          1,
		"wsbridge_connections_total":                                           1,
		`wsbridge_handshakes_total{result="accepted"}`:                         1,
		`wsbridge_handshakes_total{result="not_found"}`:                        1,
		`wsbridge_handshakes_total{result="dial_failed"}`:                      1,
		`wsbridge_errors_total{kind="dial"}`:                                   1,
		`wsbridge_token_lookups_total{result="found",source="TokenRedis"}`:     2,
		`wsbridge_token_lookups_total{result="not_found",source="TokenRedis"}`: 1,
		"wsbridge_target_dial_duration_seconds_count":                          2,
		`wsbridge_bytes_total{direction="up"}`:                                 float64(len(msg) + 1),
		`wsbridge_bytes_total{direction="down"}`:                               float64(len("t1\n") + len(msg) + 1),
	} {
		if got := sample(body, series); got != want {
			t.Errorf("%s: got %v, want %v", series, got, want)
		}
	}

	// The client closes: counted by side and code once the session ends.
	if err := s.wr.WriteClose(frames.CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, s.br); err != nil {
		t.Fatal(err)
	}
	b.waitLog(t, "session closed client=")
	deadline := time.Now().Add(waitLimit)
	for {
		_, body = scrape(t, base+"/metrics")
		if sample(body, `wsbridge_closes_total{by="client",code="1000"}`) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling a scrape, not synchronisation
	}
	if got := sample(body, `wsbridge_closes_total{by="client",code="1000"}`); got != 1 {
		t.Errorf("closes by client with 1000: got %v, want 1", got)
	}
	if got := sample(body, "wsbridge_connections_active"); got != 0 {
		t.Errorf("active after the close: got %v, want 0", got)
	}

	// `wsbridge health` probes the same endpoint, by address or URL.
	var out bytes.Buffer
	if err := run(context.Background(), runEnv{Args: []string{"health", maddr}, Stdout: &out, Stderr: io.Discard}); err != nil || !strings.Contains(out.String(), "ok") {
		t.Errorf("wsbridge health %s: %v %q", maddr, err, out.String())
	}
	env := []string{"WSBRIDGE_METRICS_LISTEN=" + maddr}
	if err := run(context.Background(), runEnv{Args: []string{"health"}, Env: env, Stdout: io.Discard, Stderr: io.Discard}); err != nil {
		t.Errorf("wsbridge health from the environment: %v", err)
	}
	if err := run(context.Background(), runEnv{Args: []string{"health", base + "/readyz-no"}, Stdout: io.Discard, Stderr: io.Discard}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("wsbridge health on a 404: got %v, want an error naming the status", err)
	}

	// Redis down: not ready (a load balancer should send clients to a
	// bridge that can look tokens up), but still healthy.
	proc.Cmd.Process.Kill()
	<-proc.Exited
	code, body := scrape(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") {
		t.Errorf("/readyz with redis down: %d %q, want 503 naming the backend", code, body)
	}
	if code, _ := scrape(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz with redis down: %d, want 200", code)
	}
}

func TestHealthURL(t *testing.T) {
	for in, want := range map[string]string{
		":9180":              "http://127.0.0.1:9180/healthz",
		"0.0.0.0:9180":       "http://127.0.0.1:9180/healthz",
		"[::]:9180":          "http://[::1]:9180/healthz",
		"10.0.0.5:9180":      "http://10.0.0.5:9180/healthz",
		"http://h:1/healthz": "http://h:1/healthz",
	} {
		if got, err := healthURL(in); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := healthURL("nonsense"); err == nil {
		t.Error("healthURL(nonsense): want an error")
	}
}

// TestShutdownTimeout: a client that never answers the 1001 is cut after
// --shutdown-timeout, even with a long --close-timeout.
func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	target := namedTarget(t, "t1")
	b := startBridge(t, "--close-timeout", "30", "--shutdown-timeout", "0.5", "127.0.0.1:0", target)
	s := b.upgrade(t, wsReq{})
	if g := s.greeting(t); g != "t1" {
		t.Fatalf("greeting %q", g)
	}
	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- b.stop(t) }()
	if code, reason := readAll(t, s.rd, io.Discard); code != frames.CloseGoingAway {
		t.Errorf("got close %d %q, want 1001", code, reason)
	}
	// No reply: the bridge must give up on its own.
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("run did not return after --shutdown-timeout")
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 5*time.Second {
		t.Errorf("stopped after %v, want about the 0.5 s --shutdown-timeout", d)
	}
}
