package tunnel

import (
	"context"
	"errors"
	"net"
	"sync"

	"wsbridge/frames"
)

// The session registry. Hijacked connections are invisible to
// http.Server.Shutdown, so the Server counts every upgrade in (enter),
// keeps the live sessions (register) and closes them itself: politely with
// 1001 in Shutdown, not at all in Drain, and by force when the caller's
// context runs out.

// errShutdownTimeout ends the sessions still open when Shutdown or Drain
// stops waiting.
var errShutdownTimeout = errors.New("shutdown timeout")

// trackRefusing registers c for closing by a forced shutdown; it reports
// false if that already happened.
func (s *Server) trackRefusing(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forced {
		return false
	}
	s.refusing[c] = struct{}{}
	return true
}

func (s *Server) untrackRefusing(c net.Conn) {
	s.mu.Lock()
	delete(s.refusing, c)
	s.mu.Unlock()
}

// enter counts an upgrade in for Shutdown and Drain to wait on, unless the
// server is closing. The caller calls s.wg.Done when it is over.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// register adds p to the live sessions. A session that got its 101 is
// bridged even if Drain or Shutdown began meanwhile (Drain promises to
// close nothing); ok is false only once they gave up waiting, and then p
// must be closed at once. goAway is true while Shutdown is under way: its
// round of Close frames may have missed p, which must be sent one too.
func (s *Server) register(p *pair) (ok, goAway bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forced {
		return false, false
	}
	s.sessions[p] = struct{}{}
	s.started++
	p.num = s.started
	return true, s.goingAway
}

// unregister removes p from the live sessions; its bytes move to the
// totals of ended sessions in the same step, so Totals never counts them
// twice or misses them.
func (s *Server) unregister(p *pair) {
	s.mu.Lock()
	delete(s.sessions, p)
	s.endedUp += p.up.Load()
	s.endedDown += p.down.Load()
	s.mu.Unlock()
}

// Totals are a Server's counters since it started.
type Totals struct {
	Active   int   // live sessions
	Sessions int64 // sessions started
	Up, Down int64 // payload bytes client→target and target→client, live sessions included
}

// Totals returns the counters now. It walks the live sessions, so it
// suits a metrics scrape, not a per-packet path.
func (s *Server) Totals() Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := Totals{Active: len(s.sessions), Sessions: s.started, Up: s.endedUp, Down: s.endedDown}
	for p := range s.sessions {
		t.Up += p.up.Load()
		t.Down += p.down.Load()
	}
	return t
}

// Active returns the number of live sessions.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// stopAccepting marks the server closing (and going away, for Shutdown)
// and returns the sessions alive now.
func (s *Server) stopAccepting(goAway bool) []*pair {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	s.goingAway = s.goingAway || goAway
	s.eng.stop() // loops end once they have no sessions
	ps := make([]*pair, 0, len(s.sessions))
	for p := range s.sessions {
		ps = append(ps, p)
	}
	return ps
}

// Shutdown refuses new upgrades, sends Close 1001 to every live session and
// waits until they have ended or ctx is done; then it closes what is left
// and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, p := range s.stopAccepting(true) {
		// Each ends within CloseTimeout (a client that does not read holds
		// the write lock until then), or at once when wait force-closes p.
		wg.Go(p.goAway)
	}
	err := s.wait(ctx)
	wg.Wait()
	return err
}

// Drain refuses new upgrades and waits, without closing anything, until
// every live session has ended on its own or ctx is done; then it closes
// what is left and returns ctx's error.
func (s *Server) Drain(ctx context.Context) error {
	s.stopAccepting(false)
	return s.wait(ctx)
}

// wait waits for every upgrade in progress to end; when ctx ends first it
// tears the rest down and waits for that, which cannot block for long.
func (s *Server) wait(ctx context.Context) error {
	done := make(chan struct{})
	go s.waitAll(done) // ends when every upgrade has ended
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.forceClose()
	<-done
	return ctx.Err()
}

func (s *Server) waitAll(done chan<- struct{}) {
	s.wg.Wait()
	close(done)
}

// forceClose closes every session and hijacked connection and cancels
// dials in progress.
func (s *Server) forceClose() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.forced {
		s.forced = true
		s.forceStop()
		s.eng.kickAll() // connections the loops are dialling end
	}
	for p := range s.sessions {
		p.end("server", 0, errShutdownTimeout)
		p.abort()
	}
	for c := range s.refusing {
		c.Close()
	}
}

// goAway starts the closing handshake from this side with 1001.
func (p *pair) goAway() {
	if p.ev != nil {
		p.ev.goAway()
		return
	}
	p.end("server", frames.CloseGoingAway, nil)
	p.linger()
	_ = p.writeClose(frames.CloseGoingAway, reasonShutdown)
}
