package tokens

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
)

// fileSource is the TokenFile and ReadOnlyTokenFile plugin: a token file, or
// a directory of them, parsed into an immutable map that lookups read
// without locking. A poller re-reads what changed; Reload re-reads all.
type fileSource struct {
	source string
	log    logging.LeveledLogger
	table  atomic.Pointer[map[string]Target]
	poll   *poller

	mu      sync.Mutex            // serialises loads; guards the fields below
	files   map[string]*fileState // by path, from the last load
	listErr string                // the source's own stat or listing error, logged when it changes
}

var (
	_ Source   = (*fileSource)(nil)
	_ Reloader = (*fileSource)(nil)
)

// fileState is what the last load learnt about one file.
type fileState struct {
	ver     fileVersion
	entries []entry // from the last successful read; kept when a read fails
	skipped bool    // not a regular file (a subdirectory, a FIFO): not read
	errMsg  string  // the last stat or read error, logged when it changes
}

// newFileSource loads source once and starts polling it for changes. It
// fails if the source cannot be listed, or is a single file that cannot be
// read; unreadable files in a directory are only logged.
func newFileSource(source string, opts Options, log logging.LeveledLogger) (*fileSource, error) {
	s := &fileSource{source: source, log: log, files: map[string]*fileState{}}
	s.table.Store(&map[string]Target{})
	if err := s.load(true); err != nil {
		if st, ok := s.files[source]; s.listErr != "" || (ok && !st.ver.valid) {
			return nil, err
		}
	}
	s.poll = startPoller(opts.ReloadInterval, s.tick)
	return s, nil
}

// Lookup returns the target of token from the current table. It does not
// block and allocates nothing.
func (s *fileSource) Lookup(_ context.Context, token string) (Target, error) {
	if t, ok := (*s.table.Load())[token]; ok {
		return t, nil
	}
	return Target{}, ErrNotFound
}

// Reload re-reads every file now, changed or not (for SIGHUP), and returns
// what went wrong: unreadable files (whose previous targets are kept) and
// skipped lines (each also logged with file and line).
func (s *fileSource) Reload() error { return s.load(true) }

// Close stops the change poller and waits for it. Lookups keep answering
// from the last table.
func (s *fileSource) Close() error {
	s.poll.close()
	return nil
}

// tick is the poller's work: re-read what changed. Problems are logged by
// load; only a change of them is logged again.
func (s *fileSource) tick() { _ = s.load(false) }

// load brings the table up to date with the files. With force every file is
// read and every problem logged; otherwise only files whose stat changed (or
// is racy, see watch.go) are read, and problems are logged when they change.
func (s *fileSource) load(force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	now := time.Now()
	paths, err := s.list()
	if err != nil {
		// The source itself is gone or unreadable: keep everything.
		err = fmt.Errorf("tokens: %s: %w (keeping the %d tokens loaded before)", s.source, withoutPath(err), s.size())
		if force || s.listErr != err.Error() {
			s.log.Error(err.Error())
		}
		s.listErr = err.Error()
		return err
	}
	s.listErr = ""

	var (
		errs    []error
		skipped int
	)
	changed := len(paths) != len(s.files)
	next := make(map[string]*fileState, len(paths))
	for _, p := range paths {
		st, ok := s.files[p]
		if !ok {
			st = &fileState{}
			changed = true
		}
		next[p] = st
		c, lines, err := s.refresh(p, st, now, force)
		changed = changed || c
		skipped += lines
		if err != nil {
			errs = append(errs, err)
		}
	}
	s.files = next
	if changed {
		s.publish(paths)
	}
	if skipped > 0 {
		errs = append(errs, fmt.Errorf("tokens: %s: %d lines skipped (each logged with file and line)", s.source, skipped))
	}
	return errors.Join(errs...)
}

// list returns the files of the source in the order their lines apply: the
// source itself, or the entries of the directory sorted by name (websockify
// takes os.listdir's arbitrary order; a fixed order makes "last duplicate
// wins" mean something).
func (s *fileSource) list() ([]string, error) {
	fi, err := os.Stat(s.source)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{s.source}, nil
	}
	des, err := os.ReadDir(s.source)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(des))
	for i, de := range des {
		paths[i] = filepath.Join(s.source, de.Name())
	}
	return paths, nil
}

// refresh brings st up to date with the file at p. It reports whether its
// entries changed, how many lines were skipped if it was parsed, and the
// error that kept it from being read (its entries are then those it had).
func (s *fileSource) refresh(p string, st *fileState, now time.Time, force bool) (changed bool, skipped int, err error) {
	fi, err := os.Stat(p) // follows symlinks: a link to a file is read as websockify does
	if err == nil && !fi.Mode().IsRegular() {
		// websockify 0.10–0.13 fails every lookup on a subdirectory and
		// would hang on a FIFO; skip both, once logged.
		if !st.skipped || force {
			what := "not a regular file"
			if fi.IsDir() {
				what = "a subdirectory"
			}
			s.log.Warnf("tokens: %s: skipped: %s", p, what)
		}
		changed = len(st.entries) > 0
		*st = fileState{skipped: true}
		return changed, 0, nil
	}
	st.skipped = false
	if err == nil && !force && !st.ver.stale(sigOf(fi)) {
		return false, 0, nil
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(p)
	}
	if err != nil {
		err = fmt.Errorf("tokens: %s: %w (keeping its %d tokens loaded before)", p, withoutPath(err), len(st.entries))
		if force || st.errMsg != err.Error() {
			s.log.Error(err.Error())
		}
		st.errMsg = err.Error()
		return false, 0, err
	}
	st.errMsg = ""
	if !st.ver.update(sigOf(fi), now, data) && !force {
		return false, 0, nil
	}
	entries, lineErrs := parseTokenFile(p, data)
	for _, le := range lineErrs {
		s.log.Error(le.Error())
	}
	st.entries = entries
	return true, len(lineErrs), nil
}

// publish builds the table from the files in order, the last duplicate
// winning, and swaps it in.
func (s *fileSource) publish(paths []string) {
	type where struct {
		file string
		line int
	}
	n, read := 0, 0
	for _, p := range paths {
		n += len(s.files[p].entries)
		if !s.files[p].skipped {
			read++
		}
	}
	table := make(map[string]Target, n)
	seen := make(map[string]where, n)
	for _, p := range paths {
		for _, e := range s.files[p].entries {
			if w, dup := seen[e.token]; dup {
				s.log.Infof("tokens: %s:%d: token defined again (first at %s:%d); the later line wins", p, e.line, w.file, w.line)
			} else {
				seen[e.token] = where{p, e.line}
			}
			table[e.token] = e.target
		}
	}
	s.table.Store(&table)
	s.log.Infof("tokens: %s: %d tokens from %d files", s.source, len(table), read)
}

// size returns the number of tokens in the current table.
func (s *fileSource) size() int { return len(*s.table.Load()) }
