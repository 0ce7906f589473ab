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
		t := time.NewTicker(idleTick(cfg.IdleTimeout))
		defer t.Stop()
		idleC = t.C
	}
	live := newLiveness(p, time.Now())
	for {
		select {
		case <-p.done:
			return
		case <-pingC:
			if p.closing.Load() {
				return
			}
			seen := p.seen.Load()
			if live.silent(seen, p.upBusy.Load()) {
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
					live.pingSent(seen)
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
			if live.idle(p, time.Now(), cfg.IdleTimeout) {
				p.end("server", frames.CloseGoingAway, errIdle)
				p.linger()
				_ = p.writeClose(frames.CloseGoingAway, reasonIdle)
				return
			}
		}
	}
}

// liveness is what a session is judged by, on goroutines (keepalive) and
// on the event loop alike: whether the client showed any sign of life
// between two pings, and when data last moved either way.
type liveness struct {
	pinged     bool   // a ping went out and the next check judges it
	seenAtPing uint64 // p.seen when it went out
	moved      int64  // bytes moved either way at the last check
	lastMove   time.Time
}

func newLiveness(p *pair, now time.Time) liveness {
	return liveness{moved: p.up.Load() + p.down.Load(), lastMove: now}
}

// silent reports, at a ping's time, whether the client has sent nothing
// since the last ping (seen: p.seen now). busy means its frames cannot be
// read at the moment (the target is not reading): it is not judged, and
// the count starts over at the next ping.
func (v *liveness) silent(seen uint64, busy bool) bool {
	if busy {
		v.pinged = false
	}
	return v.pinged && seen == v.seenAtPing
}

// pingSent records a ping that went out when p.seen was seen.
func (v *liveness) pingSent(seen uint64) { v.pinged, v.seenAtPing = true, seen }

// idle reports whether no data has moved for limit, checked at now (the
// time of the check, not of a timer tick: a late tick would date movement
// seen now too early and close too soon).
func (v *liveness) idle(p *pair, now time.Time, limit time.Duration) bool {
	if m := p.up.Load() + p.down.Load(); m != v.moved {
		v.moved, v.lastMove = m, now
		return false
	}
	return now.Sub(v.lastMove) >= limit
}

// idleTick is how often an idle timeout is checked.
func idleTick(limit time.Duration) time.Duration { return max(limit/4, 10*time.Millisecond) }
