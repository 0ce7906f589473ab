package tokens

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"sync"
	"time"
)

// Reload polling. A source is re-read only when a stat of it differs from the
// last one, so a lookup never costs a parse. Stat data alone can miss an edit:
// file timestamps tick coarsely (a kernel tick on Linux, 2 s on FAT), so a
// same-size rewrite within the tick of our last read keeps every field. As in
// Git's "racy" index entries, a file whose timestamps are within racyWindow
// of our last read is therefore read again at each poll and compared by
// content hash until that window has passed (for ever, if its timestamp is
// in the future: a read and a hash per poll, no parse).
const (
	defaultReloadInterval = 2 * time.Second
	racyWindow            = 2 * time.Second
)

// fileSig is what a stat says about one version of a file.
type fileSig struct {
	size      int64
	mode      fs.FileMode
	mtimeNano int64
	sys       sysSig
}

// sigOf returns the fileSig of fi.
func sigOf(fi fs.FileInfo) fileSig {
	return fileSig{size: fi.Size(), mode: fi.Mode(), mtimeNano: fi.ModTime().UnixNano(), sys: sysSigOf(fi)}
}

// fileVersion remembers the version of a file last read.
type fileVersion struct {
	sig    fileSig
	readAt time.Time // taken before the stat that gave sig
	sum    [sha256.Size]byte
	valid  bool // a read has succeeded
}

// stale reports whether a file now stat'ed as sig may differ from v: never
// read, stat changed, or changed so close to the read that an edit within
// the same timestamp tick could hide.
func (v *fileVersion) stale(sig fileSig) bool {
	if !v.valid || v.sig != sig {
		return true
	}
	latest := max(sig.mtimeNano, sig.sys.ctimeNano)
	return v.readAt.UnixNano()-latest < int64(racyWindow)
}

// update records data read at readAt from a file stat'ed as sig, and reports
// whether its content differs from the version read before.
func (v *fileVersion) update(sig fileSig, readAt time.Time, data []byte) bool {
	sum := sha256.Sum256(data)
	changed := !v.valid || sum != v.sum
	*v = fileVersion{sig: sig, readAt: readAt, sum: sum, valid: true}
	return changed
}

// poller calls a function every interval on a goroutine it owns, until
// close. close waits for the goroutine, so the function is never running
// after close returns.
type poller struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startPoller starts calling tick every interval. A negative interval starts
// nothing; zero means defaultReloadInterval.
func startPoller(interval time.Duration, tick func()) *poller {
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{cancel: cancel}
	if interval == 0 {
		interval = defaultReloadInterval
	}
	if interval > 0 {
		p.wg.Go(func() { p.run(ctx, interval, tick) })
	}
	return p
}

// run is the poller's goroutine; it ends when ctx is cancelled by close.
func (p *poller) run(ctx context.Context, interval time.Duration, tick func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tick()
		}
	}
}

// close stops the poller and waits for its goroutine. It may be called more
// than once.
func (p *poller) close() {
	p.cancel()
	p.wg.Wait()
}
