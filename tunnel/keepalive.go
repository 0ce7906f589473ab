package tunnel

import (
	"errors"
	"fmt"
	"time"

	"wsbridge/frames"
)

// Why keepalive ended a session, told apart by SessionStats.ErrorKind.
var (
	errHeartbeat = errors.New("heartbeat: no answer from client within the interval")
	errIdle      = errors.New("idle timeout")
)

// keepalive pings the client every Heartbeat and drops it when it sent
// nothing at all between two pings; it closes sessions that moved no data
// for IdleTimeout. It runs only when one of them is configured, and ends
// when the pair is torn down or starts closing (linger bounds the rest).
//
// While the client pump is blocked writing to a target that does not read,
// the client's frames are not read either, so its silence proves nothing:
// the heartbeat does not count that against it. A client that is gone is
// still found out then, as the pings to it fail.
func (p *pair) keepalive() {
	cfg := p.srv.cfg
	var pingC, idleC <-chan time.Time
	if cfg.Heartbeat > 0 {
		t := time.NewTicker(cfg.Heartbeat)
		defer t.Stop()
		pingC = t.C
	}
	if cfg.IdleTimeout > 0 {
		t := time.NewTicker(max(cfg.IdleTimeout/4, 10*time.Millisecond))
		defer t.Stop()
		idleC = t.C
	}
	var (
		pinged     bool
		seenAtPing uint64
		moved      = p.up.Load() + p.down.Load()
		lastMove   = time.Now()
	)
	for {
		select {
		case <-p.done:
			return
		case <-pingC:
			if p.closing.Load() {
				return
			}
			seen := p.seen.Load()
			if p.upBusy.Load() {
				pinged = false // cannot tell: start over at the next ping
			}
			if pinged && seen == seenAtPing {
				p.end("server", 0, errHeartbeat)
				p.closeBoth()
				return
			}
			// A write blocked on a client that does not read holds the
			// lock: skip the ping; the check above still runs next time.
			if p.wmu.TryLock() {
				err := p.wr.WriteControl(frames.OpPing, nil)
				p.wmu.Unlock()
				switch {
				case err == nil:
					pinged, seenAtPing = true, seen
				case !p.closing.Load() && !isClosedErr(err):
					// The client is gone (reset). Nothing else may notice:
					// the client pump can be blocked on the target.
					p.end("client", 0, fmt.Errorf("write ping to client: %w", err))
					p.closeBoth()
					return
				}
			}
		case <-idleC:
			if p.closing.Load() {
				return
			}
			// The time of the check, not the tick's: a tick received late
			// would date movement seen now too early and close too soon.
			now := time.Now()
			if m := p.up.Load() + p.down.Load(); m != moved {
				moved, lastMove = m, now
				continue
			}
			if now.Sub(lastMove) >= cfg.IdleTimeout {
				p.end("server", frames.CloseGoingAway, errIdle)
				p.linger()
				_ = p.writeClose(frames.CloseGoingAway, reasonIdle)
				return
			}
		}
	}
}
