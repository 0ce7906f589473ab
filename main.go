// Command wsbridge bridges WebSocket connections to a TCP service. It is a
// drop-in replacement for websockify: the same command line,
//
//	wsbridge [options] [source_addr:]source_port target_addr:target_port
//
// and the same behaviour on the wire, with every option also readable from
// a WSBRIDGE_* environment variable. Run wsbridge --help for the options.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
)

// runEnv is what run takes from the process, so that tests can pass
// their own.
type runEnv struct {
	Args   []string  // the arguments, without the program name
	Env    []string  // the environment, in os.Environ's form
	Stdout io.Writer // --help, --version and --traffic
	Stderr io.Writer // the log, unless --log-file is given

	// Ready, if not nil, is called with the listening address once
	// wsbridge accepts connections; tests listening on port 0 learn the
	// port from it. It must not block.
	Ready func(net.Addr)

	// FitProcs fits GOMAXPROCS to the load while serving (internal/procs),
	// unless the environment sets GOMAXPROCS. It changes the whole
	// process, so only main sets it, not tests that run wsbridge in
	// their own process.
	FitProcs bool

	// BatchLog writes the log in batches from a goroutine of its own
	// (internal/logbuf), a few milliseconds after the lines are logged.
	// Only main sets it: tests that read the log while wsbridge runs get
	// each line when it is logged.
	BatchLog bool
}

func main() {
	err := run(context.Background(), runEnv{
		Args:     os.Args[1:],
		Env:      os.Environ(),
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		FitProcs: true,
		BatchLog: true,
	})
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, err)
	if _, ok := errors.AsType[*usageError](err); ok {
		fmt.Fprintln(os.Stderr, "Try 'wsbridge --help' for more information.")
		os.Exit(2)
	}
	os.Exit(1)
}

// run is wsbridge: it parses the command line, then serves until ctx ends,
// a signal arrives, or --run-once, --timeout or --idle-timeout says to
// stop. A mistake in the arguments or the environment is a *usageError.
func run(ctx context.Context, e runEnv) error {
	if len(e.Args) > 0 && e.Args[0] == "echo" {
		e.Args = e.Args[1:]
		return runEcho(ctx, e)
	}
	if len(e.Args) > 0 && e.Args[0] == "health" {
		e.Args = e.Args[1:]
		return runHealth(ctx, e)
	}
	if len(e.Args) > 0 && e.Args[0] == "client" {
		e.Args = e.Args[1:]
		return runClient(ctx, e)
	}
	s, err := parseArgs(e.Args, e.Env)
	if err != nil {
		return err
	}
	switch {
	case s.help:
		return writeHelp(e.Stdout)
	case s.version:
		_, err := fmt.Fprintf(e.Stdout, "wsbridge %s\n", version())
		return err
	}
	return serve(ctx, s, e)
}

// version is the module version the binary was built from, as the go
// command stamps it ("v1.2.3", or a pseudo-version from the VCS), or
// "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
