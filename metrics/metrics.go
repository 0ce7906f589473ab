// Package metrics exports a bridge's counters in the Prometheus format,
// through the official client, and answers health checks: /metrics,
// /healthz (the process is up) and /readyz (it is listening and its token
// source answers).
//
// Metrics is a tunnel.Observer and takes the session-end hook; byte counts
// and the live session count are read from tunnel.Server.Totals at scrape
// time, so the data path pays nothing for them.
//
// Every label has a bounded set of values: results are HTTP status words,
// close codes outside the registered ones are folded into "3xxx"/"4xxx",
// and token sources are the plugin names.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wsbridge/tunnel"
)

// namespace prefixes every metric name.
const namespace = "wsbridge"

// Token lookup results, for TokenLookup.
const (
	LookupFound    = "found"
	LookupNotFound = "not_found"
	LookupError    = "error"
)

// ErrorDial is the error kind counted for a failed target dial; the others
// are tunnel's ErrorKind constants.
const ErrorDial = "dial"

// Options configure New.
type Options struct {
	// Totals returns the bridge's live counters (tunnel.Server.Totals).
	// It is called once per scrape. Nil exports no session or byte counts.
	Totals func() tunnel.Totals

	// Ready reports whether the bridge can serve: nil means ready. It is
	// called by /readyz with a context bounded by ReadyTimeout. Nil
	// means always ready.
	Ready func(ctx context.Context) error

	// ReadyTimeout bounds Ready. Zero means 2 s.
	ReadyTimeout time.Duration

	// Version is exported as wsbridge_build_info{version="..."}.
	Version string
}

// Metrics holds the bridge's Prometheus metrics. Its methods are safe for
// concurrent use and never block.
type Metrics struct {
	opts Options
	reg  *prometheus.Registry

	handshakes *prometheus.CounterVec // result
	dial       prometheus.Histogram
	closes     *prometheus.CounterVec // by, code
	errors     *prometheus.CounterVec // kind
	lookups    *prometheus.CounterVec // source, result
	duration   prometheus.Histogram
}

// New creates the metrics in a registry of their own, with the Go runtime
// and process collectors.
func New(opts Options) *Metrics {
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 2 * time.Second
	}
	m := &Metrics{
		opts: opts,
		reg:  prometheus.NewRegistry(),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "handshakes_total",
			Help: "WebSocket upgrade requests by result: accepted, dial_failed, failed, or the refusal's HTTP status (not_found, unauthorized, too_many_requests, ...).",
		}, []string{"result"}),
		dial: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "target_dial_duration_seconds",
			Help:    "Time to connect to a target, failed dials included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "closes_total",
			Help: "Ended sessions by who ended them (client, target, server) and the close code sent or received (none if there was no Close).",
		}, []string{"by", "code"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "errors_total",
			Help: "Errors by kind: dial (target unreachable), protocol (client broke RFC 6455), client (vanished without a Close), target (read/write failed), heartbeat_timeout, idle_timeout, shutdown_timeout.",
		}, []string{"kind"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "token_lookups_total",
			Help: "Token lookups by token plugin and result (found, not_found, error).",
		}, []string{"source", "result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "session_duration_seconds",
			Help:    "Length of ended sessions.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 10), // 0.1 s … 7.3 h
		}),
	}
	m.reg.MustRegister(m.handshakes, m.dial, m.closes, m.errors, m.lookups, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.Totals != nil {
		m.reg.MustRegister(totalsCollector(opts.Totals))
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info", Help: "Always 1; the version is a label.",
		ConstLabels: prometheus.Labels{"version": opts.Version},
	})
	info.Set(1)
	m.reg.MustRegister(info)
	// Zero series for the common labels, so rate() and alerts see them
	// before the first event.
	for _, r := range []string{tunnel.ResultAccepted, tunnel.ResultDialFailed} {
		m.handshakes.WithLabelValues(r)
	}
	m.errors.WithLabelValues(ErrorDial)
	return m
}

// Registry returns the registry the metrics live in, for tests and for
// adding more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handshake implements tunnel.Observer.
func (m *Metrics) Handshake(result string) { m.handshakes.WithLabelValues(result).Inc() }

// Dialed implements tunnel.Observer.
func (m *Metrics) Dialed(d time.Duration, err error) {
	m.dial.Observe(d.Seconds())
	if err != nil {
		m.errors.WithLabelValues(ErrorDial).Inc()
	}
}

// SessionEnded counts an ended session (tunnel.Config.OnSessionEnd).
func (m *Metrics) SessionEnded(st tunnel.SessionStats) {
	m.closes.WithLabelValues(st.ClosedBy, codeLabel(st.CloseCode)).Inc()
	m.duration.Observe(st.Duration.Seconds())
	if st.ErrorKind != "" {
		m.errors.WithLabelValues(st.ErrorKind).Inc()
	}
}

// TokenLookup counts a token lookup by the plugin's name and its result
// (LookupFound, LookupNotFound, LookupError).
func (m *Metrics) TokenLookup(source, result string) {
	m.lookups.WithLabelValues(source, result).Inc()
}

// codeLabel names a close code for the closes_total label: registered
// codes (1000-2999) as numbers, application codes by range.
func codeLabel(code int) string {
	switch {
	case code == 0:
		return "none"
	case code >= 3000 && code < 4000:
		return "3xxx"
	case code >= 4000 && code < 5000:
		return "4xxx"
	case code >= 1000 && code < 3000:
		return strconv.Itoa(code)
	}
	return "invalid"
}

// Handler serves /metrics, /healthz and /readyz; anything else is 404.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", m.readyz)
	return mux
}

// readyz answers 200 "ready" or 503 with the reason.
func (m *Metrics) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if m.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), m.opts.ReadyTimeout)
		defer cancel()
		if err := m.opts.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
	}
	w.Write([]byte("ready\n"))
}

// totals exports tunnel.Totals, read once per scrape.
type totals struct {
	read                      func() tunnel.Totals
	active, sessions, bytesTo *prometheus.Desc
}

func totalsCollector(read func() tunnel.Totals) *totals {
	return &totals{
		read:     read,
		active:   prometheus.NewDesc(namespace+"_connections_active", "Live bridged sessions.", nil, nil),
		sessions: prometheus.NewDesc(namespace+"_connections_total", "Bridged sessions started.", nil, nil),
		bytesTo: prometheus.NewDesc(namespace+"_bytes_total",
			"Payload bytes bridged: direction up is client to target, down is target to client. Live sessions included.",
			[]string{"direction"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *totals) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.active
	ch <- c.sessions
	ch <- c.bytesTo
}

// Collect implements prometheus.Collector.
func (c *totals) Collect(ch chan<- prometheus.Metric) {
	t := c.read()
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(t.Active))
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.CounterValue, float64(t.Sessions))
	ch <- prometheus.MustNewConstMetric(c.bytesTo, prometheus.CounterValue, float64(t.Up), "up")
	ch <- prometheus.MustNewConstMetric(c.bytesTo, prometheus.CounterValue, float64(t.Down), "down")
}
