package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/logging"

	"wsbridge/metrics"
	"wsbridge/tokens"
	"wsbridge/tunnel"
)

// monitor is --metrics-listen: Prometheus metrics and the health checks on
// a listener of their own, away from the public port.
type monitor struct {
	m     *metrics.Metrics
	ln    net.Listener
	srv   *http.Server
	ready atomic.Bool // listening and not shutting down
	tun   atomic.Pointer[tunnel.Server]
	done  chan error // Serve's result
	log   logging.LeveledLogger
}

// newMonitor opens the metrics listener; nil without --metrics-listen.
// source, if it has a backend (tokens.Checker), is checked by /readyz.
func newMonitor(s *settings, lf logging.LoggerFactory, source tokens.Source) (*monitor, error) {
	if s.MetricsListen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("wsbridge: --metrics-listen: %w", err)
	}
	mo := &monitor{ln: ln, log: lf.NewLogger("metrics"), done: make(chan error, 1)}
	checker, _ := source.(tokens.Checker)
	mo.m = metrics.New(metrics.Options{
		Totals: func() tunnel.Totals {
			if t := mo.tun.Load(); t != nil {
				return t.Totals()
			}
			return tunnel.Totals{}
		},
		Ready: func(ctx context.Context) error {
			if !mo.ready.Load() {
				return errors.New("not listening")
			}
			if checker != nil {
				return checker.Check(ctx)
			}
			return nil
		},
		Version: version(),
	})
	mo.srv = &http.Server{
		Handler:           mo.m.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       keepAliveTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          newErrorLog(lf),
	}
	return mo, nil
}

// hook makes cfg report to the metrics.
func (mo *monitor) hook(cfg *tunnel.Config) {
	cfg.Observer = mo.m
	ended := cfg.OnSessionEnd
	cfg.OnSessionEnd = func(st tunnel.SessionStats) {
		mo.m.SessionEnded(st)
		if ended != nil {
			ended(st)
		}
	}
}

// start serves the metrics of tun; the server's goroutine ends in stop,
// which waits for it.
func (mo *monitor) start(tun *tunnel.Server) {
	mo.tun.Store(tun)
	go func() { mo.done <- mo.srv.Serve(mo.ln) }() // owned by mo: stop closes the server and waits on done
	mo.log.Infof("metrics on http://%s/metrics, health checks on /healthz and /readyz", mo.ln.Addr())
}

// setReady marks the bridge ready (listening) or not (shutting down).
func (mo *monitor) setReady(ok bool) { mo.ready.Store(ok) }

// stop closes the metrics server and waits for it. Before start it only
// closes the listener.
func (mo *monitor) stop(ctx context.Context) {
	if mo.tun.Load() == nil {
		mo.ln.Close()
		return
	}
	if err := mo.srv.Shutdown(ctx); err != nil {
		mo.srv.Close()
	}
	if err := <-mo.done; !errors.Is(err, http.ErrServerClosed) {
		mo.log.Warnf("metrics server: %v", err)
	}
}

// runHealth is `wsbridge health [URL|ADDR]`: one GET of the /healthz
// endpoint, exit status 0 if it answers 200. It is the container's
// HEALTHCHECK (a scratch image has no curl). Without an argument it
// probes the WSBRIDGE_METRICS_LISTEN address on loopback.
func runHealth(ctx context.Context, e runEnv) error {
	var target string
	switch len(e.Args) {
	case 0:
		target = envMap(e.Env)[envPrefix+"METRICS_LISTEN"]
		if target == "" {
			return usagef("wsbridge health: give the /healthz URL or the --metrics-listen address (or set %sMETRICS_LISTEN)", envPrefix)
		}
	case 1:
		if e.Args[0] == "-h" || e.Args[0] == "--help" {
			_, err := fmt.Fprintln(e.Stdout, "Usage: wsbridge health [URL | host:port]\n\nGET the /healthz endpoint of --metrics-listen; exit 0 if it answers 200.\nWithout an argument, the "+envPrefix+"METRICS_LISTEN address is probed on loopback.")
			return err
		}
		target = e.Args[0]
	default:
		return usagef("wsbridge health: Too many arguments")
	}
	url, err := healthURL(target)
	if err != nil {
		return usagef("wsbridge health: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usagef("wsbridge health: %w", err)
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return fmt.Errorf("wsbridge health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wsbridge health: %s: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = fmt.Fprintf(e.Stdout, "%s: %s\n", url, strings.TrimSpace(string(body)))
	return err
}

// healthURL turns a --metrics-listen address (":9180", "0.0.0.0:9180")
// into its /healthz URL on loopback; a URL is taken as it is.
func healthURL(target string) (string, error) {
	if strings.Contains(target, "://") {
		return target, nil
	}
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return "", fmt.Errorf("%q: want a URL or host:port: %w", target, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
