package tunnel

import (
	"bufio"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/pion/logging"

	"wsbridge/frames"
	"wsbridge/frames/deflate"
)

// pair is one bridged session: a WebSocket client and a TCP target. run
// owns both connections and returns only after both pumps have stopped and
// both connections are closed.
type pair struct {
	srv    *Server
	log    logging.LeveledLogger
	client net.Conn
	target net.Conn
	in     *lazyReader // the client's bytes, under fr
	rd     frameSource // a frames.Reader, or a deflate.Reader over one
	out    upBuffer    // payload on its way to the target (client pump only)

	fr *frames.Reader  // the frames under rd
	dr *deflate.Reader // nil without compression
	dw *deflate.Writer // nil without compression; guarded by wmu

	wmu sync.Mutex     // serialises frames to the client: data, pongs, pings, Close
	wr  *frames.Writer // guarded by wmu

	up, down atomic.Int64  // payload bytes client→target, target→client
	seen     atomic.Uint64 // frames and payload reads from the client (heartbeat)
	upBusy   atomic.Bool   // the client pump is blocked writing to the target (heartbeat)
	closing  atomic.Bool   // linger was called: the session is winding down
	start    time.Time

	ev       *evSession // not nil: the session runs on the event loop
	admitted func()     // Config.Admit's release, called when the session is over

	rec        Recorder // nil unless Config.Record gave one
	num        int64    // the session's number, from 1
	clientName string   // the client's (real) address, for the log
	targetName string   // the target's address, for the log
	token      string   // the route's token, redacted

	closeOnce sync.Once
	done      chan struct{} // closed by closeBoth

	mu         sync.Mutex // guards the close state below
	peerClose  bool       // the client sent Close; its code and reason are echoed
	peerCode   frames.CloseCode
	peerReason string
	closedBy   string
	closeCode  frames.CloseCode
	endErr     error
}

// newPair pairs client and target; initPumps or Server.prepareEvent then
// sets up how the session runs.
func newPair(s *Server, client, target net.Conn, clientName, token string) *pair {
	return &pair{
		srv:        s,
		log:        s.log,
		client:     client,
		target:     target,
		start:      time.Now(),
		clientName: clientName,
		token:      token,
		targetName: connAddr(target),
		done:       make(chan struct{}),
	}
}

// initPumps sets p up to run on goroutines (run): the client's bytes start
// with what br (net/http's reader, given up at hijack) buffered beyond the
// request; compress says permessage-deflate was agreed, with params.
func (p *pair) initPumps(br *bufio.Reader, compress bool, params deflate.Params) {
	s := p.srv
	p.in = newLazyReader(p.client, br, &s.small)
	p.fr = frames.NewReader(p.in, frames.RoleServer)
	p.out = upBuffer{small: &s.bufs, large: &s.large}
	p.wr = frames.NewWriter(p.client, frames.RoleServer)
	p.fr.MaxMessage = s.cfg.MaxMessageSize
	p.rd = p.fr
	if compress {
		p.dr = s.cfg.Deflate.NewReader(p.fr, frames.RoleServer, params)
		p.dw = s.cfg.Deflate.NewWriter(p.wr, frames.RoleServer, params)
		p.rd = p.dr
	}
}

// frameSource reads the client's frames: a frames.Reader, or a
// deflate.Reader that inflates compressed messages read through one.
type frameSource interface {
	NextFrame() (frames.Header, error)
	Read(p []byte) (int, error)
	ControlPayload() []byte
}

// release returns the compression state to the pools; the pumps have
// stopped.
func (p *pair) release() {
	if p.dr != nil {
		p.dr.Release()
		p.dw.Release()
	}
}

// run bridges until both directions are done. The client→target pump runs
// on the caller's goroutine; targetToClient and (if configured) keepalive
// are its children, waited for before run returns.
func (p *pair) run() {
	var pump, keep sync.WaitGroup
	pump.Go(p.targetToClient) // ends at target EOF/error or when closeBoth closes the target
	if p.srv.cfg.Heartbeat > 0 || p.srv.cfg.IdleTimeout > 0 {
		keep.Go(p.keepalive) // ends when p.done is closed or the session lingers
	}
	p.clientToTarget()
	p.mu.Lock()
	waitTarget := p.peerClose
	p.mu.Unlock()
	if !waitTarget {
		// The client is gone or the close handshake is complete: nothing
		// more can flow, so unblock the target pump.
		p.closeBoth()
	}
	// Otherwise the client closed first: the target pump forwards what the
	// target still sends until its FIN (bounded by the linger deadline),
	// then answers the client's Close. However it ended, close both ends
	// before waiting for keepalive, which only stops when p.done is closed.
	pump.Wait()
	p.closeBoth()
	keep.Wait()
}

// closeBoth closes both connections; safe to call any number of times.
func (p *pair) closeBoth() {
	p.closeOnce.Do(func() {
		close(p.done)
		p.client.Close()
		p.target.Close()
	})
}

// abort closes the session at once, however it runs.
func (p *pair) abort() {
	if p.ev != nil {
		p.ev.abort()
		return
	}
	p.closeBoth()
}

// linger bounds the rest of the session: after CloseTimeout every blocked
// read or write on either connection fails, and the pair winds down.
func (p *pair) linger() {
	p.closing.Store(true)
	t := time.Now().Add(p.srv.cfg.CloseTimeout)
	p.client.SetDeadline(t)
	p.target.SetDeadline(t)
}

// end records who ended the session and why; the first record wins.
func (p *pair) end(by string, code frames.CloseCode, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closedBy == "" {
		p.closedBy, p.closeCode, p.endErr = by, code, err
	}
}

// writePong answers a ping, unless this side has sent its Close already:
// RFC 6455 §5.5.1, after a Close "the endpoint MUST NOT send any more data
// frames", and the session is only waiting for the client's reply.
func (p *pair) writePong(payload []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.wr.Closed() {
		return nil
	}
	return p.wr.WriteControl(frames.OpPong, payload)
}

// writeClose sends a Close frame unless one was sent already.
func (p *pair) writeClose(code frames.CloseCode, reason string) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.wr.Closed() {
		return nil
	}
	p.traffic('{')
	return p.wr.WriteClose(code, reason)
}

// fail ends the session at once after telling the client why (best
// effort, bounded by the linger deadline): a protocol error, a broken
// target. No Close reply is awaited (RFC 6455 §7.1.7).
func (p *pair) fail(by string, code frames.CloseCode, reason string, err error) {
	p.end(by, code, err)
	p.linger()
	_ = p.writeClose(code, reason)
	p.closeBoth()
}

func (p *pair) traffic(c byte) {
	if p.srv.traffic != nil {
		p.srv.traffic.glyph(c)
	}
}

// stats summarises the session for the log and OnSessionEnd.
func (p *pair) stats() SessionStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := SessionStats{
		Client:     p.clientName,
		Token:      p.token,
		Target:     p.targetName,
		Up:         p.up.Load(),
		Down:       p.down.Load(),
		Duration:   time.Since(p.start),
		ClosedBy:   p.closedBy,
		CloseCode:  int(p.closeCode),
		Compressed: p.dr != nil,
	}
	if p.endErr != nil {
		st.CloseError = p.endErr.Error()
		st.ErrorKind = p.errorKind()
	}
	return st
}

// errorKind classifies p.endErr (not nil); p.mu is held.
func (p *pair) errorKind() string {
	switch {
	case errors.Is(p.endErr, errHeartbeat):
		return ErrorHeartbeat
	case errors.Is(p.endErr, errIdle):
		return ErrorIdle
	case errors.Is(p.endErr, errShutdownTimeout):
		return ErrorShutdownTimeout
	case p.closedBy == "server":
		return ErrorProtocol // the one other error this side ends a session for
	case p.closedBy == "target":
		return ErrorTarget
	}
	return ErrorClient
}

// connAddr is c's remote address, or "" for no conn or a conn (from
// Config.Dial) without an address.
func connAddr(c net.Conn) string {
	if c == nil {
		return ""
	}
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// String formats the stats as the session's closing log line: "session
// closed" and logfmt key=value pairs, for people and log parsers alike:
//
//	session closed client=203.0.113.7:5555 target=127.0.0.1:5900 token=abcd… closed_by=client code=1000 up=1024 down=52311 duration=1.503s
//
// token, code, compressed (permessage-deflate), error and error_kind
// appear only when there is one.
func (st SessionStats) String() string {
	b := []byte("session closed")
	b = appendField(b, "client", st.Client)
	b = appendField(b, "target", st.Target)
	if st.Token != "" {
		b = appendField(b, "token", st.Token)
	}
	b = appendField(b, "closed_by", st.ClosedBy)
	if st.CloseCode != 0 {
		b = appendField(b, "code", strconv.Itoa(st.CloseCode))
	}
	b = appendField(b, "up", strconv.FormatInt(st.Up, 10))
	b = appendField(b, "down", strconv.FormatInt(st.Down, 10))
	b = appendField(b, "duration", st.Duration.Round(time.Millisecond).String())
	if st.Compressed {
		b = appendField(b, "compressed", "true")
	}
	if st.CloseError != "" {
		b = appendField(b, "error", st.CloseError)
		b = appendField(b, "error_kind", st.ErrorKind)
	}
	return string(b)
}

// appendField appends " key=value", quoting value when logfmt needs it.
func appendField(b []byte, key, value string) []byte {
	b = append(b, ' ')
	b = append(b, key...)
	b = append(b, '=')
	if value == "" || strings.ContainsAny(value, " =\"\\") || strings.ContainsFunc(value, unicode.IsControl) {
		return strconv.AppendQuote(b, value)
	}
	return append(b, value...)
}

// isClosedErr reports whether err comes from a connection this side closed
// or from a deadline this side set: the normal end of a pump.
func isClosedErr(err error) bool {
	var ne net.Error
	return errors.Is(err, net.ErrClosed) || (errors.As(err, &ne) && ne.Timeout())
}
