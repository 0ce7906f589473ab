package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pion/logging"

	"wsbridge/echo"
	"wsbridge/frames/deflate"
)

// defaultEchoAddr is where `wsbridge echo` listens without an argument.
const defaultEchoAddr = "127.0.0.1:9001"

// runEcho is `wsbridge echo [addr]`: the message-preserving echo server on
// frames/, for pointing a conformance client (Autobahn|Testsuite's
// fuzzingclient) at the codec itself.
func runEcho(ctx context.Context, e runEnv) error {
	fs := flag.NewFlagSet("wsbridge echo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	maxMsg := fs.Int64("max-message-size", 0, "close messages larger than this with 1009 (0: no limit)")
	verbose := fs.Bool("v", false, "log every failed connection")
	compress := fs.Bool("compress", false, "agree to permessage-deflate")
	help := fs.Bool("help", false, "print this help")
	fs.BoolVar(help, "h", false, "print this help")
	if err := fs.Parse(e.Args); err != nil {
		return usagef("wsbridge echo: %w", err)
	}
	if *help {
		_, err := fmt.Fprintf(e.Stdout, `Usage: wsbridge echo [--max-message-size BYTES] [--compress] [-v] [addr:port]

A WebSocket echo server built on wsbridge's codec: text comes back as text,
binary as binary, pings are answered and Close frames echoed. Listens on
%s by default. Point Autobahn|Testsuite's fuzzingclient at it; with
--compress it agrees to permessage-deflate as the client asks (sections 12
and 13), context takeover included.
`, defaultEchoAddr)
		return err
	}
	addr := defaultEchoAddr
	switch fs.NArg() {
	case 0:
	case 1:
		addr = fs.Arg(0)
	default:
		return usagef("wsbridge echo: Too many arguments")
	}
	level := logging.LogLevelWarn
	if *verbose {
		level = logging.LogLevelInfo
	}
	lf := newLoggerFactory(e.Stderr, level, envMap(e.Env))
	log := lf.NewLogger("echo")

	h := &echo.Handler{MaxMessage: *maxMsg, Log: log}
	if *compress {
		ext, err := deflate.New(deflate.Options{})
		if err != nil {
			return fmt.Errorf("wsbridge echo: %w", err)
		}
		h.Deflate = ext
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes, ErrorLog: newErrorLog(lf)}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("wsbridge echo: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // ended by srv.Close below
	log.Warnf("echo server listening on %s", ln.Addr())
	if e.Ready != nil {
		e.Ready(ln.Addr())
	}
	select {
	case err = <-served: // the listener failed
	case <-ctx.Done():
		srv.Close()
		err = <-served
	}
	h.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("wsbridge echo: %w", err)
	}
	return nil
}
