package main

import (
	"io"
	"log"
	"strings"

	"github.com/pion/logging"
)

// newLoggerFactory makes the factory every package logs through. level is
// the default for every scope; PION_LOG_<LEVEL>=scope,scope (or PIONS_LOG_)
// in environ sets single scopes, and PION_LOG_<LEVEL>=all raises the
// default, as logging.NewDefaultLoggerFactory does with the process
// environment. Levels are applied least verbose first, so a scope named
// under two levels gets the more verbose one (pion's choice is random).
func newLoggerFactory(w io.Writer, level logging.LogLevel, environ map[string]string) *logging.DefaultLoggerFactory {
	f := &logging.DefaultLoggerFactory{
		Writer:          w,
		DefaultLogLevel: level,
		ScopeLevels:     map[string]logging.LogLevel{},
	}
	for i, name := range logLevelNames() {
		lvl := logging.LogLevel(i)
		key := strings.ToUpper(name)
		v := environ["PION_LOG_"+key]
		if v == "" {
			v = environ["PIONS_LOG_"+key]
		}
		if v == "" {
			continue
		}
		if strings.EqualFold(v, "all") {
			f.DefaultLogLevel = max(f.DefaultLogLevel, lvl)
			continue
		}
		for _, scope := range strings.Split(strings.ToLower(v), ",") {
			f.ScopeLevels[strings.TrimSpace(scope)] = lvl
		}
	}
	return f
}

// newErrorLog makes http.Server's ErrorLog write into the "http" scope
// at warn level: accept errors, panics in handlers and malformed requests.
func newErrorLog(lf logging.LoggerFactory) *log.Logger {
	return log.New(logWriter{lf.NewLogger("http")}, "", 0)
}

// logWriter turns each Write of a *log.Logger (one line) into a warning.
type logWriter struct{ log logging.LeveledLogger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Warn(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
