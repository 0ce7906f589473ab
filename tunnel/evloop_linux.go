//go:build linux

package tunnel

import (
	"bufio"
	"container/heap"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"wsbridge/frames"
)

// The event loop: plain sessions (TCP or unix sockets on both sides, no
// compression, recording or traffic glyphs) are bridged by a few loop
// goroutines instead of two goroutines each. A loop owns an epoll set in
// which both sockets of its sessions are registered edge-triggered; the
// epoll descriptor itself is waited on through Go's poller (it is readable
// while events are pending), so a waiting loop parks like any goroutine
// and holds no P. An eventfd in the set wakes it for changes made from
// outside (a new session, Shutdown); timers are the file's read deadline.
//
// What this buys, per event: one read and one write, no readiness probe
// (a read that returns less than asked found the socket empty, and the next
// arrival raises a new edge), no goroutine switch, and every session that
// became ready since the last wakeup handled in one pass. An idle session
// holds no goroutine, stack or buffer: only its state below.
//
// Each session's state is guarded by its loop's mutex; the loop holds it
// while it handles events and timers, and Shutdown and the registry take
// it to act on a session from outside. The close mapping, timeouts and
// limits are those of the goroutine pumps (pump.go, keepalive.go), written
// as reactions to events.

// engine owns a Server's loops. A loop starts with its first session and
// ends when it has none, so a Server without sessions runs no goroutine.
type engine struct {
	s        *Server
	mu       sync.Mutex
	loops    []*loop // nil: not running
	stopping bool    // the Server takes no more sessions: loops end when empty
}

// loopLinger is how long a loop without sessions waits for a new one
// before it ends: sessions that come and go one at a time do not start a
// loop each.
const loopLinger = time.Second

// stop makes the loops end as soon as they have no sessions (Shutdown,
// Drain).
func (e *engine) stop() {
	if e == nil {
		return
	}
	e.mu.Lock()
	e.stopping = true
	e.mu.Unlock()
	e.dropReading(nil) // and wakes every loop
}

func newEngine(s *Server) *engine {
	if s.cfg.DisableEventLoop {
		return nil
	}
	return &engine{s: s, loops: make([]*loop, min(max(runtime.GOMAXPROCS(0), runtime.NumCPU()), 8))}
}

// loopBufSize is the size of a loop's read buffer: one read from a client
// or target moves up to this much.
const loopBufSize = upBufSize

// loop is one event loop and the sessions registered with it.
type loop struct {
	eng   *engine
	slot  int
	count int // sessions assigned and not yet finished; guarded by eng.mu

	epfd int
	efd  int             // the eventfd that wakes the loop
	file *os.File        // epfd, as Go's poller sees it
	rc   syscall.RawConn // waits for file to be readable

	mu       sync.Mutex
	inLoop   bool                 // the loop goroutine holds mu
	conns    map[int32]*evSession // by file descriptor, both sides
	timers   timerHeap
	kicked   bool                                  // efd was written and not yet read
	runq     []*evSession                          // sessions with more to read than one turn moves
	finished []*evSession                          // closed, their end not yet reported
	buf      []byte                                // the read buffer, shared by the loop's sessions
	iov      []unix.Iovec                          // scratch for writev
	vecs     [][]byte                              // scratch: the slices behind iov
	hdrs     [turnFrames][frames.MaxHeaderLen]byte // scratch: the headers of one read's frames
	events   []unix.EpollEvent

	// Connections before their session (accept_linux.go): by descriptor,
	// client's and target's; in the order of their deadlines; and those
	// that had events since the last pass.
	pending   map[int32]*pendingConn
	reading   pendList
	dialing   pendList
	pendReady []*pendingConn
	pendWork  []pendJob // scratch for runPending
}

// evSession is one session on a loop. Every field is guarded by l.mu.
type evSession struct {
	p        *pair
	l        *loop
	cfd, tfd int

	parser frames.Parser
	carry  [frames.MaxHeaderLen + frames.MaxControlPayload]byte // a header or control frame begun
	carryN int

	up   outQueue // payload the target did not take yet
	down outQueue // frames the client did not take yet

	// Readiness, as the edges reported it: in means "may have bytes or an
	// EOF", out "may take bytes", hup "the peer's FIN or an error came".
	cIn, cOut, cHup bool
	tIn, tOut, tHup bool

	clientDone bool // nothing more is read from the client
	targetDone bool // nothing more is read from the target
	closeSent  bool // this side sent its Close
	finNext    bool // close follows the next write: hold it for the FIN
	finWanted  bool // send the target a FIN once up is empty
	finSent    bool
	closeUp    bool // close the session once up is empty
	closeDown  bool // close the session once down is empty
	dead       bool

	queued bool // in l.runq

	// Before start (guarded by p.mu): what Shutdown asked meanwhile. l is
	// set before the session is registered, so Shutdown sees it.
	started, pendingGoAway, pendingAbort bool

	ctrlQueued int // bytes of control frames in down

	// timers
	heapIdx  int
	due      time.Time
	pingAt   time.Time
	idleAt   time.Time
	lingerAt time.Time
	live     liveness
}

// outQueue holds bytes a socket did not take, in a pooled buffer held
// only while it is not empty.
type outQueue struct {
	pool *sync.Pool // *[]byte
	bp   *[]byte
	b    []byte // the bytes waiting: a part of *bp, or a buffer of its own
}

func (q *outQueue) empty() bool { return len(q.b) == 0 }

func (q *outQueue) push(p []byte) {
	if q.bp == nil && q.b == nil {
		q.bp = q.pool.Get().(*[]byte)
		q.b = (*q.bp)[:0]
	}
	if len(q.b)+len(p) > cap(q.b) {
		// More than a pooled buffer holds (pongs queued behind a frame):
		// grow into a buffer of its own, and give the pooled one back.
		nb := make([]byte, len(q.b), 2*(len(q.b)+len(p)))
		copy(nb, q.b)
		if q.bp != nil {
			q.pool.Put(q.bp)
			q.bp = nil
		}
		q.b = nb
	}
	q.b = append(q.b, p...)
}

// pushUnsent queues what of bufs a write of n bytes left.
func (q *outQueue) pushUnsent(bufs [][]byte, n int) {
	for _, b := range bufs {
		if n >= len(b) {
			n -= len(b)
			continue
		}
		q.push(b[n:])
		n = 0
	}
}

// flush writes what waits to fd and returns how much went; writable is
// cleared when the socket did not take it all (the next EPOLLOUT edge sets
// it again).
func (q *outQueue) flush(fd int, writable *bool) (int, error) {
	n, err := sysWrite(fd, q.b)
	if err != nil && err != unix.EAGAIN {
		return 0, err
	}
	if n < len(q.b) {
		*writable = false
	}
	q.consume(n)
	return n, nil
}

func (q *outQueue) consume(n int) {
	q.b = q.b[n:]
	if len(q.b) == 0 {
		q.release()
	}
}

func (q *outQueue) release() {
	if q.bp != nil {
		q.pool.Put(q.bp)
	}
	q.bp, q.b = nil, nil
}

// eventEligible reports whether a session over these connections can run
// on the event loop: plain sockets on both sides and nothing that needs
// the goroutine pumps (compression, recording, traffic glyphs).
func (s *Server) eventEligible(client, target any, compress bool) bool {
	if s.eng == nil || compress || s.cfg.Record != nil || s.traffic != nil {
		return false
	}
	return isPlainSocket(client) && isPlainSocket(target)
}

func isPlainSocket(c any) bool {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// prepareEvent takes p's sockets for the event loop: each descriptor is
// duplicated and the original closed, which takes it out of Go's poller.
// It reports false, with p's connections untouched, when that cannot be
// done (out of descriptors): p then runs on goroutines.
func (s *Server) prepareEvent(p *pair) bool {
	l, cfd, tfd, err := s.takeSockets(p)
	if err != nil {
		s.log.Warnf("session %s: event loop: %v; using goroutines", p.clientName, err)
		return false
	}
	p.client.Close()
	p.target.Close()
	newEvSession(p, l, cfd, tfd)
	return true
}

// newEvSession makes p's session on loop l over the sockets cfd and tfd.
func newEvSession(p *pair, l *loop, cfd, tfd int) *evSession {
	s := p.srv
	es := &evSession{p: p, l: l, cfd: cfd, tfd: tfd, heapIdx: -1}
	es.parser.MaxMessage = s.cfg.MaxMessageSize
	es.up.pool = &s.large
	es.down.pool = &s.bufs
	// Readiness unknown: read and write until the sockets say EAGAIN.
	es.cIn, es.cOut, es.tIn, es.tOut = true, true, true, true
	p.ev = es
	return es
}

// takeSockets assigns p a loop and duplicates its sockets' descriptors;
// on failure it undoes what it did.
func (s *Server) takeSockets(p *pair) (l *loop, cfd, tfd int, err error) {
	if l, err = s.eng.assign(); err != nil {
		return nil, -1, -1, err
	}
	if cfd, err = dupSocket(p.client); err == nil {
		if tfd, err = dupSocket(p.target); err == nil {
			return l, cfd, tfd, nil
		}
		rawClose(cfd)
	}
	s.eng.unassign(l)
	return nil, -1, -1, err
}

// closeFDs closes the sockets of a session that never started.
func (es *evSession) closeFDs() {
	rawClose(es.cfd)
	rawClose(es.tfd)
	es.p.srv.eng.unassign(es.l)
}

// start registers the session with a loop and handles what is at hand:
// the bytes br holds beyond the upgrade request, and a Shutdown or abort
// that came since the session was registered.
func (es *evSession) start(br *bufio.Reader, goAway bool) {
	p := es.p
	l := es.l
	l.mu.Lock()
	defer l.mu.Unlock()
	p.mu.Lock()
	es.started = true
	goAway = goAway || es.pendingGoAway
	abort := es.pendingAbort
	p.mu.Unlock()
	defer func() {
		// The loop must take up new timers (its deadline) and a session
		// that ended already (its report); otherwise the next event on
		// the session's sockets wakes it, and a kick would only cost a
		// write, a wakeup and a read per session.
		if es.heapIdx >= 0 || len(l.finished) > 0 {
			l.kick()
		}
	}()

	l.conns[int32(es.cfd)] = es
	l.conns[int32(es.tfd)] = es
	if abort {
		es.closeAll()
		return
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET}
	for _, fd := range []int{es.cfd, es.tfd} {
		ev.Fd = int32(fd)
		if err := rawEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			// Short of ENOMEM this cannot fail for a fresh socket.
			p.end("server", 0, fmt.Errorf("tunnel: event loop: epoll_ctl: %w", err))
			es.closeAll()
			return
		}
	}
	var first []byte
	if n := br.Buffered(); n > 0 {
		first, _ = br.Peek(n) // cannot fail: n bytes are buffered
	}
	es.begin(first, goAway)
}

// begin runs a registered session from its start (l.mu held): its timers,
// first the client's bytes that came with its request, then what its
// sockets hold.
func (es *evSession) begin(first []byte, goAway bool) {
	p := es.p
	l := es.l
	now := time.Now()
	es.live = newLiveness(p, now)
	if hb := p.srv.cfg.Heartbeat; hb > 0 {
		es.pingAt = now.Add(hb)
	}
	if it := p.srv.cfg.IdleTimeout; it > 0 {
		es.idleAt = now.Add(idleTick(it))
	}
	es.reschedule()
	if len(first) > 0 {
		p.seen.Add(1)
		es.parse(l.buf[:copy(l.buf, first)])
	}
	if goAway {
		es.goAwayLocked()
	}
	es.step()
}

// dupSocket returns a close-on-exec duplicate of c's descriptor, which is
// non-blocking like the original (the flag belongs to the open file).
func dupSocket(c any) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1, errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("dup: %w", err)
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, fmt.Errorf("dup: %w", err)
	}
	if derr != nil {
		return -1, fmt.Errorf("dup: %w", derr)
	}
	return nfd, nil
}

// assign picks the loop with the fewest sessions, starting loops as
// needed, and counts a session in. It fails only when no loop runs and
// none can be started (out of descriptors).
func (e *engine) assign() (*loop, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.assignLocked()
}

// errStopping refuses a new connection to the loops once Shutdown or
// Drain began.
var errStopping = errors.New("tunnel: shutting down")

// assignAccepted is assign for a connection just accepted (Listener),
// which has not entered the Server: once the Server is stopping it fails,
// and the connection goes to net/http to be refused there. (Loops started
// then would race with Shutdown's wait.)
func (e *engine) assignAccepted() (*loop, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopping {
		return nil, errStopping
	}
	return e.assignLocked()
}

func (e *engine) assignLocked() (*loop, error) {
	var run *loop // the running loop with the fewest sessions
	free := -1    // a slot without a loop
	running := 0
	for i, l := range e.loops {
		switch {
		case l == nil:
			if free < 0 {
				free = i
			}
			continue
		case run == nil || l.count < run.count:
			run = l
		}
		running++
	}
	l := run
	if free >= 0 && (run == nil || run.count > 0 && running < runtime.GOMAXPROCS(0)) {
		// Every running loop has sessions: start another while there is
		// a free slot and a P for it, so that sessions spread over the
		// CPUs. (GOMAXPROCS may change while the process runs: see
		// internal/procs. Loops started before it went down go on.)
		nl, err := e.start(free)
		switch {
		case err == nil:
			l = nl
		case run == nil:
			return nil, err
		}
	}
	l.count++
	return l, nil
}

// kickAll wakes every loop (a forced Shutdown: dials on the loops end).
func (e *engine) kickAll() { e.eachLoop(func(*loop) {}) }

// eachLoop runs act on every running loop under its lock, then wakes the
// loop to take up what act changed.
func (e *engine) eachLoop(act func(*loop)) {
	if e == nil {
		return
	}
	e.mu.Lock()
	loops := slices.Clone(e.loops)
	e.mu.Unlock()
	for _, l := range loops {
		if l != nil {
			l.mu.Lock()
			act(l)
			l.kick()
			l.mu.Unlock()
		}
	}
}

// unassign counts out a session that never started.
func (e *engine) unassign(l *loop) {
	e.mu.Lock()
	l.count--
	e.mu.Unlock()
	l.mu.Lock()
	l.kick() // the loop may be idle now
	l.mu.Unlock()
}

// start makes the loop for slot i and runs it (e.mu is held). Its
// goroutine is counted in s.wg: Shutdown and Drain wait for it.
func (e *engine) start(i int) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("tunnel: epoll_create1: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("tunnel: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(efd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, efd, &ev); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, fmt.Errorf("tunnel: epoll_ctl: %w", err)
	}
	// The loop waits for its epoll set through Go's poller (an epoll set
	// is readable while it has events), so that a waiting loop holds no
	// P: blocked in epoll_wait, it would keep one from the other
	// goroutines until sysmon took it back.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, fmt.Errorf("tunnel: epoll: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		unix.Close(efd)
		f.Close()
		return nil, fmt.Errorf("tunnel: epoll: %w", err)
	}
	l := &loop{
		eng: e, slot: i, epfd: epfd, efd: efd, file: f, rc: rc,
		conns:   make(map[int32]*evSession),
		pending: make(map[int32]*pendingConn),
		buf:     make([]byte, frames.MaxHeaderLen+loopBufSize),
		iov:     make([]unix.Iovec, 0, maxIov),
		vecs:    make([][]byte, 0, maxIov),
		events:  make([]unix.EpollEvent, 128),
	}
	e.loops[i] = l
	e.s.wg.Add(1)
	go l.run() // owned by the Server: counted in s.wg, ends when the loop has no session
	return l, nil
}

// maxIov bounds one writev.
const maxIov = 64

// run waits for events and timers and handles them until the loop has no
// sessions left.
func (l *loop) run() {
	defer l.eng.s.wg.Done()
	defer l.file.Close() // and with it the epoll descriptor
	defer unix.Close(l.efd)
	var (
		n         int
		spin      bool      // sessions wait in runq: poll, do not wait
		deadline  time.Time // set on l.file: the first timer, or the end of lingering
		done      []*evSession
		idleSince time.Time // when the loop's last session ended, if it has none
	)
	// poll takes the events pending now; false makes the poller wait for
	// more (or for the deadline). It runs after the poller has reset its
	// readiness flag, so an event that comes after it still wakes the loop.
	poll := func(fd uintptr) bool {
		n, _ = sysEpollPoll(int(fd), l.events)
		return n > 0 || spin
	}
	for {
		n = 0
		if err := l.rc.Read(poll); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			// Only closing the file fails a wait, and only run does that.
			panic(fmt.Sprintf("tunnel: event loop: %v", err))
		}
		l.mu.Lock()
		l.inLoop = true
		for _, ev := range l.events[:n] {
			if int(ev.Fd) == l.efd {
				var b [8]byte
				sysRead(l.efd, b[:])
				l.kicked = false
				continue
			}
			if es := l.conns[ev.Fd]; es != nil {
				es.ready(int(ev.Fd), ev.Events)
			} else if pc := l.pending[ev.Fd]; pc != nil {
				pc.note(int(ev.Fd), ev.Events)
			}
		}
		l.runQueued()
		now := time.Now()
		l.runTimers(now)
		l.expirePending(now)
		pending := len(l.pendReady) > 0
		l.inLoop = false
		l.mu.Unlock()
		if pending {
			l.runPending() // outside l.mu: it takes s.mu
		}
		l.mu.Lock()
		done = append(done[:0], l.finished...)
		clear(l.finished)
		l.finished = l.finished[:0]
		spin = len(l.runq) > 0 || len(l.pendReady) > 0
		next := l.pendingDeadline()
		if len(l.timers) > 0 && (next.IsZero() || l.timers[0].due.Before(next)) {
			next = l.timers[0].due
		}
		l.mu.Unlock()
		for _, es := range done {
			es.finish()
		}
		switch left, exit := l.idle(idleSince, now); {
		case exit:
			return
		case left < 0:
			idleSince = time.Time{}
		default:
			if idleSince.IsZero() {
				idleSince = now
			}
			if end := idleSince.Add(loopLinger); next.IsZero() || end.Before(next) {
				next = end
			}
		}
		if !next.Equal(deadline) {
			deadline = next
			l.file.SetReadDeadline(next)
		}
	}
}

// idle checks whether the loop has sessions; without any it ends (exit)
// once it has had none for loopLinger or the Server is stopping, and a new
// session then starts a new loop. left is the rest of the linger, or
// negative while the loop has sessions.
func (l *loop) idle(since, now time.Time) (left time.Duration, exit bool) {
	e := l.eng
	e.mu.Lock()
	defer e.mu.Unlock()
	if l.count > 0 {
		return -1, false
	}
	if since.IsZero() {
		since = now
	}
	left = loopLinger - now.Sub(since)
	if e.stopping || left <= 0 {
		e.loops[l.slot] = nil
		return 0, true
	}
	return left, false
}

// kick wakes the loop from outside it, to take up changes made under l.mu
// (new timers, sessions closed). l.mu is held.
func (l *loop) kick() {
	if l.inLoop || l.kicked {
		return
	}
	l.kicked = true
	b := [8]byte{1}
	sysWrite(l.efd, b[:])
}

// runQueued gives the sessions that had more to read another turn.
func (l *loop) runQueued() {
	q := l.runq
	l.runq = nil
	for _, es := range q {
		es.queued = false
		es.step()
	}
	clear(q)
	if l.runq == nil {
		l.runq = q[:0]
	}
}

// ready records the readiness an event reports for fd, then lets the
// session act on it.
func (es *evSession) ready(fd int, ev uint32) {
	in := ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	hup := ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
	out := ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0
	if fd == es.cfd {
		es.cIn, es.cHup, es.cOut = es.cIn || in, es.cHup || hup, es.cOut || out
	} else {
		es.tIn, es.tHup, es.tOut = es.tIn || in, es.tHup || hup, es.tOut || out
	}
	es.step()
}

// turnReads bounds the reads of one direction per turn, so that a bulk
// session does not hold the loop from the others.
const turnReads = 4

// step moves what can move now: queued bytes out, then new bytes in, until
// everything waits for an edge or the session used its turn.
func (es *evSession) step() {
	cReads, tReads := 0, 0
	for !es.dead {
		if !es.down.empty() && es.cOut {
			es.flushDown()
			continue
		}
		if !es.up.empty() && es.tOut {
			es.flushUp()
			continue
		}
		if es.up.empty() {
			if es.finWanted && !es.finSent {
				es.finSent = true
				rawShutdown(es.tfd, unix.SHUT_WR)
			}
			if es.closeUp {
				es.closeAll()
				return
			}
		}
		if es.closeDown && es.down.empty() {
			es.closeAll()
			return
		}
		canC := es.cIn && !es.clientDone && es.up.empty() && es.ctrlQueued <= pongBacklog
		canT := es.tIn && !es.targetDone && !es.closeSent && es.down.empty()
		if canC && cReads < turnReads {
			cReads++
			es.readClient()
			continue
		}
		if canT && tReads < turnReads {
			tReads++
			es.readTarget()
			continue
		}
		if canC || canT {
			es.requeue()
		}
		return
	}
}

// pongBacklog bounds what may wait for the client before its frames stop
// being read: pongs to a client that pings but does not read cannot pile
// up beyond it (the goroutine pump blocks on the write instead).
const pongBacklog = 16 << 10

func (es *evSession) requeue() {
	if !es.queued {
		es.queued = true
		es.l.runq = append(es.l.runq, es)
	}
}

// readClient reads the client's bytes after any carried over and passes
// the frames on.
func (es *evSession) readClient() {
	l := es.l
	c := copy(l.buf, es.carry[:es.carryN])
	n, err := sysRead(es.cfd, l.buf[c:loopBufSize])
	switch {
	case err == unix.EAGAIN:
		es.cIn = false
		return
	case err != nil:
		es.clientGone(fmt.Errorf("read from client: %w", sysErr("read", err)))
		return
	case n == 0:
		es.clientGone(errors.New("client disconnected without a Close frame"))
		return
	}
	if c+n < loopBufSize && !es.cHup {
		es.cIn = false // the socket is empty: the next byte raises an edge
	}
	es.carryN = 0
	es.p.seen.Add(1)
	es.parse(l.buf[:c+n])
}

// parse decodes b: data payloads are gathered (unmasked in place) and
// written to the target in one writev; pings are answered; a Close, a
// protocol error or a text frame ends the reading. A frame begun is
// carried over to the next read.
func (es *evSession) parse(b []byte) {
	l := es.l
	l.vecs = l.vecs[:0]
	for len(b) > 0 && !es.clientDone && !es.dead {
		ch, k, err := es.parser.Next(b)
		if err != nil {
			es.writeUp()
			es.protocolError(err)
			return
		}
		if k == 0 {
			es.carryN = copy(es.carry[:], b)
			break
		}
		b = b[k:]
		switch ch.Kind {
		case frames.DataHeader:
			if ch.Header.Op == frames.OpText {
				es.writeUp()
				es.fail("server", frames.CloseUnsupportedData, reasonText, errors.New("tunnel: text frame from client"))
				return
			}
		case frames.Payload:
			if len(l.vecs) == maxIov {
				es.writeUp()
				if es.dead {
					return
				}
			}
			l.vecs = append(l.vecs, ch.Payload)
		case frames.Control:
			switch ch.Header.Op {
			case frames.OpPing:
				if !es.closeSent {
					es.sendControl(frames.OpPong, ch.Payload)
				}
			case frames.OpClose:
				es.writeUp()
				code, reason, _ := frames.ParseClose(ch.Payload) // checked by the Parser
				es.clientClose(code, reason)
				return
			}
		}
	}
	es.writeUp()
}

// writeUp writes the gathered payload to the target; what it does not
// take waits in es.up, and the client is not read until it is out.
func (es *evSession) writeUp() {
	l := es.l
	vecs := l.vecs
	l.vecs = l.vecs[:0]
	if len(vecs) == 0 || es.dead {
		return
	}
	total := 0
	for _, v := range vecs {
		total += len(v)
	}
	n := 0
	if es.up.empty() && es.tOut {
		var err error
		n, err = l.writev(es.tfd, vecs)
		if err != nil && err != unix.EAGAIN {
			es.targetWriteError(err)
			return
		}
		es.p.up.Add(int64(n))
	}
	if n == total {
		return
	}
	es.tOut = false
	es.up.pushUnsent(vecs, n)
}

// flushUp writes what waits for the target.
func (es *evSession) flushUp() {
	n, err := es.up.flush(es.tfd, &es.tOut)
	if err != nil {
		es.targetWriteError(err)
		return
	}
	es.p.up.Add(int64(n))
}

// readTarget reads what the target sent and sends it to the client as
// binary frames of at most MaxFrameSize.
func (es *evSession) readTarget() {
	l := es.l
	size := es.p.srv.cfg.MaxFrameSize
	room := min(loopBufSize, turnFrames*size)
	buf := l.buf[frames.MaxHeaderLen : frames.MaxHeaderLen+room]
	n, err := sysRead(es.tfd, buf)
	switch {
	case err == unix.EAGAIN:
		es.tIn = false
		return
	case err != nil:
		es.targetDone = true
		es.fail("target", frames.CloseInternalError, reasonTargetError, fmt.Errorf("read from target: %w", sysErr("read", err)))
		return
	case n == 0:
		es.targetDone = true
		es.targetEOF()
		return
	}
	if n < room && !es.tHup {
		es.tIn = false
	}
	es.p.down.Add(int64(n))
	if n <= size {
		// The usual case: one frame, its header in the room before the
		// payload, one write.
		hl := putBinaryHeader(l.buf[:frames.MaxHeaderLen], n)
		es.sendClient("", l.buf[frames.MaxHeaderLen-hl:frames.MaxHeaderLen+n])
		return
	}
	l.vecs = l.vecs[:0]
	for i := 0; n > 0; i++ {
		m := min(n, size)
		h := &l.hdrs[i]
		hl := putBinaryHeader(h[:], m)
		l.vecs = append(l.vecs, h[frames.MaxHeaderLen-hl:], buf[:m])
		buf, n = buf[m:], n-m
	}
	vecs := l.vecs
	l.vecs = l.vecs[:0]
	es.sendClient("", vecs...)
}

// turnFrames is the most frames one read from the target becomes.
const turnFrames = 4

// putBinaryHeader writes the header of a final binary frame of n bytes at
// the end of b (MaxHeaderLen long) and returns its length.
func putBinaryHeader(b []byte, n int) int {
	h := frames.Header{Fin: true, Op: frames.OpBinary, Length: int64(n)}
	hl := frames.HeaderLen(h)
	frames.PutHeader(b[len(b)-hl:], h)
	return hl
}

// sendClient writes bufs to the client, or queues them behind what waits;
// what names a control frame for the error if the write fails.
func (es *evSession) sendClient(what string, bufs ...[]byte) {
	n := 0
	if es.down.empty() && es.cOut {
		var err error
		switch {
		case len(bufs) == 1 && es.finNext:
			n, err = sysSendMore(es.cfd, bufs[0])
		case len(bufs) == 1:
			n, err = sysWrite(es.cfd, bufs[0])
		default:
			n, err = es.l.writev(es.cfd, bufs)
		}
		if err != nil && err != unix.EAGAIN {
			es.clientWriteError(what, err)
			return
		}
	}
	es.down.pushUnsent(bufs, n)
	if !es.down.empty() {
		es.cOut = false
	}
}

// flushDown writes what waits for the client.
func (es *evSession) flushDown() {
	if _, err := es.down.flush(es.cfd, &es.cOut); err != nil {
		es.clientWriteError("", err)
		return
	}
	if es.down.empty() {
		es.ctrlQueued = 0
	}
}

// sendControl sends a control frame to the client.
func (es *evSession) sendControl(op frames.Opcode, payload []byte) {
	var b [2 + frames.MaxControlPayload]byte
	n := frames.PutHeader(b[:], frames.Header{Fin: true, Op: op, Length: int64(len(payload))})
	n += copy(b[n:], payload)
	es.sendClient(op.String(), b[:n])
	if !es.down.empty() {
		es.ctrlQueued += n
	}
}

// writeClose sends a Close frame unless one was sent already.
func (es *evSession) writeClose(code frames.CloseCode, reason string) {
	if es.closeSent || es.dead {
		return
	}
	es.closeSent = true
	var b [frames.MaxControlPayload]byte
	es.sendControl(frames.OpClose, frames.AppendClose(b[:0], code, reason))
}

// clientClose handles the client's Close, as pair.clientClose does.
func (es *evSession) clientClose(code frames.CloseCode, reason string) {
	p := es.p
	es.clientDone = true
	es.finWanted = true
	if es.closeSent {
		p.end("server", code, nil) // the reply to this side's Close
		es.closeUp = true
		return
	}
	p.peerClosed(code, reason)
	es.linger()
}

// clientGone ends the session when the client's stream ends without a
// Close: what was read goes to the target first (within CloseTimeout).
func (es *evSession) clientGone(err error) {
	es.clientDone = true
	es.p.end("client", 0, err)
	if es.up.empty() {
		es.closeAll()
		return
	}
	es.linger()
	es.closeUp = true
}

// protocolError fails the session for a client that broke RFC 6455.
func (es *evSession) protocolError(err error) {
	es.p.log.Warnf("client %s: %v", es.p.clientName, err)
	es.fail("server", frames.CloseCodeOf(err), protocolReason(err), err)
}

// targetEOF handles the target's FIN, as pair.targetReadError does.
func (es *evSession) targetEOF() {
	p := es.p
	p.mu.Lock()
	peerClose, code, reason := p.peerClose, p.peerCode, p.peerReason
	p.mu.Unlock()
	if peerClose {
		// The closing handshake ends here, and closeAll follows at once:
		// the Close is held back (MSG_MORE) for the FIN that close sends,
		// so that the client gets both in one segment and one wakeup.
		// Not if the client sent more after its Close (cIn: unread bytes,
		// or its FIN): close then resets the connection, and a reset
		// drops what the socket held back, where a Close already sent
		// arrives before it.
		es.finNext = !es.cIn
		es.writeClose(code, reason)
		es.finNext = false
		es.closeDown = true
		return
	}
	p.end("target", frames.CloseNormal, nil)
	es.linger()
	es.writeClose(frames.CloseNormal, reasonTargetClosed)
}

func (es *evSession) targetWriteError(err error) {
	es.fail("target", frames.CloseInternalError, reasonTargetError, fmt.Errorf("tunnel: write to target: %w", sysErr("write", err)))
}

// clientWriteError ends the session on a failed write of a control frame
// (what: "ping", "pong", as the goroutine pumps say) or of data ("").
func (es *evSession) clientWriteError(what string, err error) {
	op := "write to client"
	if what != "" {
		op = "write " + what + " to client"
	}
	es.p.end("client", 0, fmt.Errorf("%s: %w", op, sysErr("write", err)))
	es.closeAll()
}

// fail ends the session after telling the client why: the Close goes out
// after what waits for the client (within CloseTimeout), and nothing more
// is read.
func (es *evSession) fail(by string, code frames.CloseCode, reason string, err error) {
	es.p.end(by, code, err)
	es.clientDone = true
	es.linger()
	es.writeClose(code, reason)
	es.closeDown = true
	if !es.dead && es.down.empty() {
		es.closeAll()
	}
}

// linger bounds the rest of the session by CloseTimeout.
func (es *evSession) linger() {
	if !es.lingerAt.IsZero() {
		return
	}
	es.p.closing.Store(true)
	es.lingerAt = time.Now().Add(es.p.srv.cfg.CloseTimeout)
	es.reschedule()
}

// goAway starts the closing handshake from this side with 1001
// (Shutdown).
func (es *evSession) goAway() {
	es.fromOutside(func() { es.pendingGoAway = true }, func() {
		es.goAwayLocked()
		es.step()
	})
}

func (es *evSession) goAwayLocked() {
	if es.dead {
		return
	}
	es.p.end("server", frames.CloseGoingAway, nil)
	es.linger()
	es.writeClose(frames.CloseGoingAway, reasonShutdown)
}

// abort closes the session at once (a forced shutdown).
func (es *evSession) abort() {
	es.fromOutside(func() { es.pendingAbort = true }, es.closeAll)
}

// fromOutside runs act on a started session under its loop's lock and
// wakes the loop to take up the change; before start it calls note
// instead (under p.mu), for start to act on.
func (es *evSession) fromOutside(note, act func()) {
	es.p.mu.Lock()
	started := es.started
	if !started {
		note()
	}
	es.p.mu.Unlock()
	if !started {
		return
	}
	l := es.l
	l.mu.Lock()
	defer l.mu.Unlock()
	act()
	l.kick()
}

// closeAll closes both sockets and hands the session to the loop to report
// its end.
func (es *evSession) closeAll() {
	if es.dead {
		return
	}
	es.dead = true
	l := es.l
	delete(l.conns, int32(es.cfd))
	delete(l.conns, int32(es.tfd))
	rawClose(es.cfd) // leaves the epoll set with its last descriptor
	rawClose(es.tfd)
	es.up.release()
	es.down.release()
	if es.heapIdx >= 0 {
		heap.Remove(&l.timers, es.heapIdx)
	}
	l.finished = append(l.finished, es)
}

// finish reports the session's end, on the loop goroutine without l.mu.
func (es *evSession) finish() {
	s := es.p.srv
	s.sessionEnded(es.p)
	e := s.eng
	e.mu.Lock()
	es.l.count--
	e.mu.Unlock()
}

// reschedule puts the session's next timer in the heap (l.mu held).
func (es *evSession) reschedule() {
	var due time.Time
	if !es.lingerAt.IsZero() {
		due = es.lingerAt // closing: heartbeat and idle checks stop
	} else {
		for _, t := range []time.Time{es.pingAt, es.idleAt} {
			if !t.IsZero() && (due.IsZero() || t.Before(due)) {
				due = t
			}
		}
	}
	h := &es.l.timers
	switch {
	case due.IsZero() && es.heapIdx >= 0:
		heap.Remove(h, es.heapIdx)
	case due.IsZero():
	case es.heapIdx >= 0:
		es.due = due
		heap.Fix(h, es.heapIdx)
	default:
		es.due = due
		heap.Push(h, es)
	}
}

// runTimers fires the timers due by now.
func (l *loop) runTimers(now time.Time) {
	for len(l.timers) > 0 && !l.timers[0].due.After(now) {
		es := l.timers[0]
		es.onTimer(now)
		if !es.dead && es.heapIdx >= 0 && !es.due.After(now) {
			// Not moved on (cannot happen): drop it rather than spin.
			heap.Remove(&l.timers, es.heapIdx)
		}
	}
}

// onTimer runs the session's due timers: the end of lingering, the
// heartbeat and the idle check, as keepalive does.
func (es *evSession) onTimer(now time.Time) {
	p := es.p
	cfg := &p.srv.cfg
	if !es.lingerAt.IsZero() {
		if !now.Before(es.lingerAt) {
			p.end("server", 0, nil)
			es.closeAll()
		}
		return
	}
	if !es.pingAt.IsZero() && !now.Before(es.pingAt) {
		es.pingAt = now.Add(cfg.Heartbeat)
		es.heartbeat()
		if es.dead {
			return
		}
	}
	if !es.idleAt.IsZero() && !now.Before(es.idleAt) && es.lingerAt.IsZero() {
		es.idleAt = now.Add(idleTick(cfg.IdleTimeout))
		if es.live.idle(p, now, cfg.IdleTimeout) {
			p.end("server", frames.CloseGoingAway, errIdle)
			es.linger()
			es.writeClose(frames.CloseGoingAway, reasonIdle)
			es.step()
		}
	}
	if !es.dead {
		es.reschedule()
	}
}

// heartbeat pings the client, or drops it when it sent nothing since the
// last ping.
func (es *evSession) heartbeat() {
	seen := es.p.seen.Load()
	if es.live.silent(seen, !es.up.empty()) { // up waits: the target is not reading
		es.p.end("server", 0, errHeartbeat)
		es.closeAll()
		return
	}
	if !es.down.empty() {
		return // a frame is stuck on a client that does not read: skip this ping
	}
	es.sendControl(frames.OpPing, nil)
	if !es.dead {
		es.live.pingSent(seen)
	}
}

// timerHeap orders sessions by their next timer.
type timerHeap []*evSession

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *timerHeap) Push(x any) {
	es := x.(*evSession)
	es.heapIdx = len(*h)
	*h = append(*h, es)
}
func (h *timerHeap) Pop() any {
	old := *h
	es := old[len(old)-1]
	old[len(old)-1] = nil
	es.heapIdx = -1
	*h = old[:len(old)-1]
	return es
}

// The loop's reads, writes and polls never block (its sockets and epoll
// set are non-blocking), so they are made raw, without the runtime's
// system call bookkeeping: like a blocking call, an ordinary one wakes
// the runtime's sysmon thread whenever the process was idle, and sysmon
// then polls every 20 µs for a while. That cost 10-25% of the bridge's
// CPU per GB in wsbench's bulk runs, about a fifth of its CPU per new
// connection, and a third of its CPU per round trip in the slow wake-up
// mode of this machine's KVM guest (README "Performance").

// sysRead reads once, retrying on EINTR.
func sysRead(fd int, b []byte) (int, error) {
	return sysCall(unix.SYS_READ, fd, bufPtr(b), len(b), 0)
}

// sysWrite writes once, retrying on EINTR; a full socket gives EAGAIN
// with what it took.
func sysWrite(fd int, b []byte) (int, error) {
	return sysCall(unix.SYS_WRITE, fd, bufPtr(b), len(b), 0)
}

// sysSendMore writes once like sysWrite, with MSG_MORE: the bytes wait in
// the socket for more, or for the FIN of a close or shutdown that follows
// at once (TCP_NODELAY would send them alone).
func sysSendMore(fd int, b []byte) (int, error) {
	return sysCall(unix.SYS_SENDTO, fd, bufPtr(b), len(b), unix.MSG_MORE)
}

// sysEpollPoll takes the events pending on epfd without waiting
// (epoll_pwait with a timeout of 0 and no signal mask).
func sysEpollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	return sysCall(unix.SYS_EPOLL_PWAIT, epfd, unsafe.Pointer(&events[0]), len(events), 0)
}

// sysCall makes a raw system call on fd with a buffer (p, n) that does
// not block, retrying on EINTR; f is the next argument (send's flags) and
// those after it are zero. p stays a pointer up to the call itself, so
// that a buffer on a goroutine stack that moves meanwhile is followed.
func sysCall(trap uintptr, fd int, p unsafe.Pointer, n int, f uintptr) (int, error) {
	for {
		r, _, e := unix.RawSyscall6(trap, uintptr(fd), uintptr(p), uintptr(n), f, 0, 0)
		if e != unix.EINTR {
			return sysResult(r, e)
		}
	}
}

// bufPtr is b's first byte, or nil for an empty b.
func bufPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// sysResult turns a call's results into a count and a bare Errno (EAGAIN
// compares with ==).
func sysResult(n uintptr, e unix.Errno) (int, error) {
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// writev writes bufs with one call (at most maxIov of them).
func (l *loop) writev(fd int, bufs [][]byte) (int, error) {
	iov := l.iov[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		v := unix.Iovec{Base: &b[0]}
		v.SetLen(len(b))
		iov = append(iov, v)
	}
	if len(iov) == 0 {
		return 0, nil
	}
	n, err := sysCall(unix.SYS_WRITEV, fd, unsafe.Pointer(&iov[0]), len(iov), 0)
	clear(iov) // drop the pointers into the buffers
	return n, err
}

// sysErr wraps an errno from op as os.SyscallError, as net's errors do.
func sysErr(op string, err error) error { return os.NewSyscallError(op, err) }
