package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/pion/logging"

	"wsbridge/frames/deflate"
	"wsbridge/internal/logbuf"
	"wsbridge/internal/procs"
	"wsbridge/record"
	"wsbridge/static"
	"wsbridge/tunnel"
)

const (
	// maxHeaderBytes bounds an upgrade request's headers; browsers send
	// about 1 KiB.
	maxHeaderBytes = 16 << 10

	// keepAliveTimeout closes a keep-alive HTTP connection (the page, files
	// under --web) that sends no new request. websockify has none, so an
	// idle browser tab holds a process there.
	keepAliveTimeout = 2 * time.Minute

	// procsInterval is how often the CPU use is sampled to fit GOMAXPROCS
	// to the load.
	procsInterval = 500 * time.Millisecond

	// logDelay is how long a log line may wait to be written with those
	// after it (BatchLog), and logHeld how many bytes may wait before the
	// logger that adds more writes them itself.
	logDelay = 10 * time.Millisecond
	logHeld  = 64 << 10
)

// Causes of a stop that is not a signal, for the log.
var (
	errRunOnce     = errors.New("the first session ended (--run-once)")
	errIdleTimeout = errors.New("no session for the --idle-timeout")
)

// serve listens and bridges until ctx ends, SIGINT or SIGTERM arrives, or
// a server-level option (--run-once, --timeout, --idle-timeout) stops it.
// Then it stops accepting and closes live sessions with 1001 (after
// --timeout: waits for them to end).
func serve(ctx context.Context, s *settings, e runEnv) error {
	logOut := e.Stderr
	var logf *logFile // reopened on SIGHUP, for logrotate
	if s.LogFile != "" {
		var err error
		if logf, err = openLogFile(s.LogFile); err != nil {
			return err
		}
		defer logf.Close()
		logOut = logf
	}
	if s.Syslog != "" {
		sysw, err := newSyslog(s.Syslog, s.LegacySyslog)
		if err != nil {
			return err
		}
		defer sysw.Close()
		logOut = io.MultiWriter(logOut, sysw) // as websockify: syslog as well, not instead
	}
	if e.BatchLog {
		join := logbuf.PipeBuf // a batch's lines in a few writes: 0.1 µs a line against 0.6 to a file (BenchmarkFlush)
		if s.Syslog != "" {
			join = 0 // each line its own syslog message
		}
		lb := logbuf.New(logOut, logDelay, logHeld, join)
		defer lb.Close() // before the log file and syslog close
		logOut = lb
	}
	lf := newLoggerFactory(logOut, s.level, s.env)
	log := lf.NewLogger("main")
	for _, k := range s.unknownEnv {
		log.Warnf("ignoring %s: no such option", k)
	}

	ctx, stopSignals := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	watch := newSessionWatch(stop, s.RunOnce, time.Duration(s.IdleTimeout))
	defer watch.close()

	rt, err := newRouting(s, lf)
	if err != nil {
		return err
	}
	rt.logFile = logf
	defer rt.close()
	var bgWG sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(ctx)
	defer func() {
		stopBG()
		bgWG.Wait()
	}()
	hup := notifyHUP()
	bgWG.Go(func() { rt.watchHUP(bgCtx, hup) }) // ends with bgCtx, waited for above
	if n := runtime.GOMAXPROCS(0); e.FitProcs && s.env["GOMAXPROCS"] == "" && n > 1 {
		sc := &procs.Scaler{Max: n, Interval: procsInterval, Log: lf.NewLogger("procs")}
		log.Debugf("fitting GOMAXPROCS to the load: from 1 up to %d (GOMAXPROCS in the environment fixes it)", n)
		bgWG.Go(func() { // ends with bgCtx, waited for above
			switch err := sc.Run(bgCtx); {
			case errors.Is(err, errors.ErrUnsupported):
				log.Debugf("GOMAXPROCS stays at %d: %v", n, err)
			case err != nil:
				log.Warnf("fitting GOMAXPROCS to the load: %v", err)
			}
		})
	}
	mon, err := newMonitor(s, lf, rt.source)
	if err != nil {
		return err
	}
	if mon != nil {
		rt.metrics = mon.m
		defer func() { // after the sessions are closed: the last scrape sees them end
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			mon.stop(ctx)
		}()
	}
	tun, err := newTunnel(s, e, lf, watch, rt, mon)
	if err != nil {
		return err
	}
	if mon != nil {
		mon.start(tun)
	}
	srv := &http.Server{
		Handler: tun,
		// A handler that hijacks the connection (every upgrade) clears its
		// deadlines, so the tunnel's own timeouts apply only after the
		// upgrade. Until then this is the one bound on a client that
		// connects and sends its request slowly or never; without it such
		// stalled handshakes pile up, each holding a connection.
		ReadHeaderTimeout: time.Duration(s.HandshakeTimeout),
		IdleTimeout:       keepAliveTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          newErrorLog(lf),
	}
	sd, err := newNotifier(s.env)
	if err != nil {
		return err
	}
	defer sd.close()
	lns, proxy, err := listen(s, time.Duration(s.HandshakeTimeout))
	if err != nil {
		return err
	}
	if (s.activated || s.Inetd) && (s.Listen != "" || s.UnixListen != "") {
		log.Infof("ignoring the listen address %s: using the inherited sockets", cmp.Or(s.UnixListen, s.Listen))
	}
	opts := tunnel.ListenOptions{
		HandshakeTimeout: time.Duration(s.HandshakeTimeout),
		MaxHeaderBytes:   maxHeaderBytes,
	}
	if rt.tls != nil {
		// TLS and plain HTTP on one port, told apart by the first byte
		// after the PROXY header; ACME's HTTP-01 challenges are answered
		// before the bridge.
		for i, ln := range lns {
			if proxy != nil {
				ln = proxy.Listener(ln)
			}
			lns[i] = rt.tls.Listener(ln, time.Duration(s.HandshakeTimeout))
		}
		srv.Handler = rt.tls.HTTPHandler(tun)
	} else if proxy != nil {
		opts.Proxy = proxy // read on the event loop, or by the listener returned
	}
	for i, ln := range lns {
		// Upgrades are accepted and bridged on the event loop where the
		// session can run there; net/http gets the rest (a TLS listener
		// comes back as it is).
		lns[i] = tun.Listener(ln, opts)
	}

	// The server goroutines, one per listener, belong to serve, which
	// always receives all their results below; srv.Shutdown (or a failing
	// listener) ends them.
	served := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { served <- srv.Serve(ln) }()
		log.Infof("listening on %s → %s", ln.Addr(), targetDescription(s))
	}
	pending := len(lns)
	if mon != nil {
		mon.setReady(true)
	}
	if e.Ready != nil {
		e.Ready(lns[0].Addr())
	}
	if err := sd.notify("READY=1", fmt.Sprintf("STATUS=listening on %s", lns[0].Addr())); err != nil {
		log.Warnf("sd_notify: %v", err)
	}
	// The watchdog goroutine belongs to serve: stopped and waited for
	// when serve returns, after the shutdown below.
	var dogWG sync.WaitGroup
	dogCtx, stopDog := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		stopDog()
		dogWG.Wait()
	}()
	dogWG.Go(func() { sd.keepAlive(dogCtx) })

	var timeout <-chan time.Time
	if s.Timeout > 0 {
		t := time.NewTimer(time.Duration(s.Timeout))
		defer t.Stop()
		timeout = t.C
	}
	var serveErr error
	drain := false
	select {
	case serveErr = <-served:
		pending--
		log.Errorf("serving failed: %v", serveErr)
	case <-ctx.Done():
		log.Infof("shutting down: %v", context.Cause(ctx))
	case <-timeout:
		drain = true
		log.Infof("--timeout: no longer accepting connections; waiting for %d open sessions", tun.Active())
	}

	if mon != nil {
		mon.setReady(false) // load balancers stop sending new clients
	}
	if err := sd.notify("STOPPING=1", "STATUS=shutting down"); err != nil {
		log.Warnf("sd_notify: %v", err)
	}
	// Stop accepting. http.Server.Shutdown closes the listener and waits
	// for requests in flight (pages, handshakes), not for the hijacked
	// sessions, which the tunnel tracks itself.
	grace := time.Duration(s.CloseTimeout)
	if grace == 0 {
		grace = tunnel.DefaultCloseTimeout
	}
	grace += time.Second
	bg := context.WithoutCancel(ctx)
	shutdown(bg, grace, "http server", func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if err != nil {
			srv.Close() // requests still in flight after the grace period
		}
		return err
	}, log)
	if drain {
		// Open sessions go on until they end, or a signal or --run-once
		// ends ctx and the Shutdown below closes them.
		if err := tun.Drain(ctx); err != nil {
			log.Infof("stopped waiting for sessions: %v", context.Cause(ctx))
		}
	}
	// From here a second SIGINT or SIGTERM ends the process at once,
	// without waiting for the sessions' close handshakes.
	stopSignals()
	sessionGrace := grace
	if s.ShutdownTimeout > 0 {
		sessionGrace = time.Duration(s.ShutdownTimeout)
	}
	shutdown(bg, sessionGrace, "sessions", tun.Shutdown, log)
	for ; pending > 0; pending-- {
		if err := <-served; serveErr == nil {
			serveErr = err
		}
	}
	if !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("wsbridge: serve: %w", serveErr)
	}
	log.Info("stopped")
	return nil
}

// shutdown calls fn with a context bounded by grace and logs a failure.
// fn leaves nothing open when its context ends first: the http.Server is
// closed above, and tunnel.Server.Shutdown closes what is left itself.
func shutdown(ctx context.Context, grace time.Duration, what string, fn func(context.Context) error, log logging.LeveledLogger) {
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	if err := fn(ctx); err != nil {
		log.Warnf("closing %s: %v", what, err)
	}
}

// newTunnel builds the bridge, with the static page or --web directory
// for requests that are not upgrades.
func newTunnel(s *settings, e runEnv, lf logging.LoggerFactory, watch *sessionWatch, rt *routing, mon *monitor) (*tunnel.Server, error) {
	page, err := static.New(static.Options{
		Web:           s.Web,
		FileOnly:      s.FileOnly,
		Listing:       s.WebListing,
		Target:        targetDescription(s),
		Version:       version(),
		LoggerFactory: lf,
	})
	if err != nil {
		return nil, fmt.Errorf("wsbridge: %w", err)
	}
	cfg := tunnel.Config{
		Target:           s.target,
		DialTimeout:      time.Duration(s.DialTimeout),
		Heartbeat:        time.Duration(s.Heartbeat),
		IdleTimeout:      time.Duration(s.ConnIdleTimeout),
		CloseTimeout:     time.Duration(s.CloseTimeout),
		MaxFrameSize:     s.MaxFrameSize,
		MaxMessageSize:   s.MaxMessageSize,
		DisableEventLoop: !bool(s.EventLoop),
		Fallback:         page,
		OnSessionStart:   watch.started,
		OnSessionEnd:     watch.ended,
		LoggerFactory:    lf,
	}
	if s.WebAuth {
		cfg.Fallback = rt.guard(page)
	}
	rt.apply(s, &cfg)
	if mon != nil {
		mon.hook(&cfg)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = -1 // --dial-timeout 0: no limit; tunnel's zero is its default
	}
	if s.Traffic {
		cfg.Traffic = e.Stdout
	}
	if s.Compress {
		ext, err := newDeflate(s.CompressLevel)
		if err != nil {
			return nil, fmt.Errorf("wsbridge: --compress: %w", err)
		}
		cfg.Deflate = ext
	}
	if s.Record != "" {
		cfg.Record = recorder(s.Record, s.RecordLimit, lf.NewLogger("record"))
	}
	tun, err := tunnel.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("wsbridge: %w", err)
	}
	return tun, nil
}

// compressThreshold: smaller messages go out uncompressed; a keystroke's
// echo would only grow.
const compressThreshold = 64

// newDeflate is permessage-deflate as wsbridge uses it, server and client:
// no context takeover either way (no flate state kept between messages),
// small messages as they are, and adaptive (incompressible data is not
// compressed).
func newDeflate(level int) (*deflate.Extension, error) {
	return deflate.New(deflate.Options{
		Level:                   level,
		ServerNoContextTakeover: true,
		ClientNoContextTakeover: true,
		Threshold:               compressThreshold,
		Adaptive:                true,
	})
}

// recorder is --record: each session's recording goes to PREFIX.N. A file
// that cannot be created is logged and the session goes on unrecorded.
func recorder(prefix string, limit int64, log logging.LeveledLogger) func(int64) tunnel.Recorder {
	if abs, err := filepath.Abs(prefix); err == nil {
		prefix = abs // as websockify: the working directory may change
	}
	log.Infof("recording sessions to %s.N", prefix)
	return func(n int64) tunnel.Recorder {
		f, err := record.Open(prefix, n, limit)
		if err != nil {
			log.Warnf("session %d not recorded: %v", n, err)
			return nil
		}
		log.Infof("recording session %d to %s", n, f.Name())
		return f
	}
}

// sessionWatch counts live sessions for --run-once and --idle-timeout and
// calls stop when either says to. started and ended are the tunnel's
// session hooks: they only take a mutex, never block.
type sessionWatch struct {
	stop        context.CancelCauseFunc
	runOnce     bool
	idleTimeout time.Duration

	mu     sync.Mutex
	active int
	idle   *time.Timer // runs idleFired; nil without --idle-timeout
}

func newSessionWatch(stop context.CancelCauseFunc, runOnce bool, idleTimeout time.Duration) *sessionWatch {
	w := &sessionWatch{stop: stop, runOnce: runOnce, idleTimeout: idleTimeout}
	if idleTimeout > 0 {
		w.idle = time.AfterFunc(idleTimeout, w.idleFired) // no session yet
	}
	return w
}

func (w *sessionWatch) started() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.active++
	if w.idle != nil {
		w.idle.Stop()
	}
}

func (w *sessionWatch) ended(tunnel.SessionStats) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.active--
	if w.runOnce {
		w.stop(errRunOnce)
		return
	}
	if w.active == 0 && w.idle != nil {
		w.idle.Reset(w.idleTimeout)
	}
}

// idleFired runs on the timer's goroutine. A session may have started
// while it waited for the lock; then it does nothing.
func (w *sessionWatch) idleFired() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active == 0 {
		w.stop(errIdleTimeout)
	}
}

// close stops the timer.
func (w *sessionWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.idle != nil {
		w.idle.Stop()
	}
}

// targetDescription says where sessions go, for the start-up line.
func targetDescription(s *settings) string {
	switch {
	case s.TokenPlugin != "":
		return fmt.Sprintf("targets by token (%s %s)", s.TokenPlugin, s.TokenSource)
	case s.UnixTarget != "":
		return "unix socket " + s.UnixTarget
	}
	return s.target
}
