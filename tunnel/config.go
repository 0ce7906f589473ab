package tunnel

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/pion/logging"

	"wsbridge/frames/deflate"
)

// Timing defaults. They relate as follows: a heartbeat ping goes out every
// Heartbeat and the peer has until the next ping to show any sign of life,
// so a dead peer is dropped within 2×Heartbeat. CloseTimeout bounds every
// wait for the other side of a close (a half-closed pair, a Close reply)
// and is short next to both, so that closing never holds resources long.
const (
	DefaultDialTimeout  = 10 * time.Second
	DefaultCloseTimeout = 5 * time.Second
	DefaultMaxFrameSize = 64 << 10
)

// Config configures a Server. The zero value is not usable: Target,
// Resolve or Dial must be set.
type Config struct {
	// Target is the host:port every WebSocket is bridged to when Resolve
	// is nil.
	Target string

	// Resolve, if not nil, chooses each session's target from its
	// upgrade request (a token in the query or the Host header). It runs
	// after Admit and Authorize and before the dial. An error that is a
	// Refusal is answered as it says (404 for an unknown token); any other
	// is answered 502. The client can never name a target itself.
	Resolve func(ctx context.Context, r *http.Request) (Route, error)

	// Authorize, if not nil, decides whether r may upgrade; a Refusal
	// error is answered as it says (401 with WWW-Authenticate, 403), any
	// other error with 403.
	Authorize func(r *http.Request) error

	// ClientAddr, if not nil, returns the real client IP of r (from
	// trusted proxies' headers) for the log, limits and SessionStats; ""
	// or nil means the TCP peer's.
	ClientAddr func(r *http.Request) string

	// Admit, if not nil, is asked first whether a client (by IP) may start an
	// upgrade (connection limits, rate limits). A Refusal error is
	// answered as it says (503, 429), any other with 503. release is
	// called when the session, or the refused attempt, is over.
	Admit func(client string) (release func(), err error)

	// Dial opens the TCP connection to the target. Nil means a net.Dialer
	// with DialTimeout and TCP keepalive, which tries every address the
	// name resolves to.
	// Its errors that are a Refusal (a target outside the allow-list)
	// are answered before the 101; the others after it, with Close 1011.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// AllowTarget, if not nil, is asked about each TCP address before the
	// Server's own dial connects to it: after a host name is resolved, so
	// a name that resolves outside the allowed addresses (or to another
	// address on the next lookup) is caught too. An address it refuses is
	// skipped; a dial whose first address was refused and that reached no
	// other (net.Dialer reports its first error) is answered 403 before
	// the 101, and nothing is sent to the address. Unix routes are not
	// asked. A Dial given here makes its own checks instead.
	AllowTarget func(netip.AddrPort) bool

	// WrapDial, if not nil, is given the Server's dial (Dial, or the
	// default one that applies AllowTarget) and returns the dial the
	// Server uses: one that adds a layer over each connection it opens,
	// such as TLS towards the target. The event loop then leaves accepting
	// and dialling to net/http and that dial; a session whose connection
	// is not a plain socket runs on goroutines.
	WrapDial func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error)

	// DialTimeout bounds the connection to the target. Zero means
	// DefaultDialTimeout; negative means no timeout (the risk: a
	// black-holed target holds the client until the OS gives up).
	DialTimeout time.Duration

	// Heartbeat is the period of the server's pings. A client that sends
	// nothing at all (not even a pong) between two pings is closed; the
	// payload of a long frame still arriving counts as a sign of life, and
	// while the target is not reading (so the client's frames cannot be
	// read either) the client is not judged. Zero turns heartbeats off.
	Heartbeat time.Duration

	// IdleTimeout closes a connection that moved no data in either
	// direction for this long. Zero means never.
	IdleTimeout time.Duration

	// CloseTimeout bounds the close handshake: how long a half-closed pair
	// may keep moving data, and how long a Close waits for its reply.
	// Zero means DefaultCloseTimeout.
	CloseTimeout time.Duration

	// MaxFrameSize is the largest payload of a frame sent to the client
	// and the size of the read from the target. Zero means
	// DefaultMaxFrameSize (64 KiB, as websockify).
	MaxFrameSize int

	// MaxMessageSize limits a message from the client; larger ones are
	// closed with 1009. Zero means no limit, which costs nothing: messages
	// are streamed, never held whole.
	MaxMessageSize int64

	// Deflate, if not nil, agrees to permessage-deflate (RFC 7692) with
	// clients that offer it, on its terms; the target's bytes then go out
	// compressed and the client's compressed messages are inflated,
	// within MaxMessageSize. Nil declines every offer.
	Deflate *deflate.Extension

	// Traffic, if not nil, receives websockify's --traffic glyphs: '}' a
	// frame from the client, '>' bytes to the target, '<' bytes from the
	// target, '{' a frame to the client.
	Traffic io.Writer

	// Fallback serves requests that are not WebSocket upgrades (the page).
	// Nil means 405 Method Not Allowed for everything, as websockify
	// without --web.
	Fallback http.Handler

	// OnSessionStart and OnSessionEnd, if not nil, are called when a
	// bridged session starts and ends (after both of its connections are
	// closed). They run on the session's goroutine and must not block.
	OnSessionStart func()
	OnSessionEnd   func(SessionStats)

	// Record, if not nil, is called as each session starts with its
	// number (1, 2, ... in the order sessions start); a non-nil Recorder
	// gets a copy of the session's payload both ways and is closed when
	// the session ends. It runs on the session's goroutine.
	Record func(n int64) Recorder

	// Observer, if not nil, is told the outcome of every upgrade request
	// and the time of every target dial, for metrics.
	Observer Observer

	// DisableEventLoop runs every session on two goroutines of its own.
	// By default (on Linux) a session between plain sockets, without
	// compression, Record or Traffic, runs on an event loop shared with
	// other sessions, which costs less CPU per message and no goroutine
	// while idle; the others always run on goroutines. Both behave the
	// same on the wire.
	DisableEventLoop bool

	// LoggerFactory makes the "tunnel" logger. Nil means
	// logging.NewDefaultLoggerFactory().
	LoggerFactory logging.LoggerFactory
}

// SessionStats summarises one bridged session.
type SessionStats struct {
	Client     string        // client address (the real one, see ClientAddr)
	Token      string        // the route's token, redacted
	Target     string        // target address
	Up, Down   int64         // payload bytes client→target and target→client
	Duration   time.Duration // from upgrade to teardown
	ClosedBy   string        // "client", "target", "server" or "error"
	CloseCode  int           // close code sent or received, 0 if none
	CloseError string        // why the session ended, if not a clean close
	ErrorKind  string        // CloseError's class (see ErrorKind constants), "" if clean
	Compressed bool          // permessage-deflate was agreed
}

// The kinds of error that end a session, in SessionStats.ErrorKind.
const (
	ErrorProtocol        = "protocol"          // the client broke RFC 6455 (or sent text)
	ErrorClient          = "client"            // the client vanished or failed without a Close
	ErrorTarget          = "target"            // reading from or writing to the target failed
	ErrorHeartbeat       = "heartbeat_timeout" // the client stopped answering pings
	ErrorIdle            = "idle_timeout"      // no data moved for IdleTimeout
	ErrorShutdownTimeout = "shutdown_timeout"  // still open when Shutdown or Drain gave up
)

// Recorder receives a copy of one session's payload (websockify's
// --record). ToClient and FromClient are called from the two pumps,
// concurrently, with buffers that are reused after they return.
type Recorder interface {
	ToClient(p []byte)
	FromClient(p []byte)
	Close() error
}

// Observer receives a Server's events. Its methods are called
// concurrently from request and session goroutines and must not block.
type Observer interface {
	// Handshake reports how an upgrade request ended: "accepted" when a
	// session started, "dial_failed" when the target could not be
	// reached (after the 101, or refused before it by the allow-list:
	// "forbidden"), "failed" when the 101 could not be written, or the
	// refusal's HTTP status as snake_case text ("bad_request",
	// "unauthorized", "not_found", "too_many_requests", ...).
	Handshake(result string)
	// Dialed reports one dial of a target: how long it took and its error.
	Dialed(d time.Duration, err error)
}

// ListenOptions are the HTTP server's limits that apply to requests read
// on the event loop (net/http applies its own to what it is handed).
type ListenOptions struct {
	// HandshakeTimeout bounds how long a client may take to send its
	// request (http.Server.ReadHeaderTimeout); zero means no limit.
	HandshakeTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers
	// (http.Server.MaxHeaderBytes); zero means http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Proxy, if not nil, reads the PROXY protocol header (HAProxy's) that
	// load balancers send before each connection's request, on the loop
	// and on the connections left to net/http; the client it names is the
	// request's RemoteAddr. On the loop the header counts towards
	// HandshakeTimeout. It is for a plain TCP or unix listener, whose
	// connections start with the header.
	Proxy ProxyHeaders
}

// ProxyHeaders reads PROXY protocol headers (access.ProxyProtocol).
type ProxyHeaders interface {
	// Header reads the header at the start of b, the first bytes from
	// peer (the zero AddrPort for a unix peer): the client it names (the
	// zero AddrPort keeps peer) and its length (0: no header).
	// io.ErrUnexpectedEOF asks for more bytes; any other error refuses
	// the connection and says why.
	Header(peer netip.AddrPort, b []byte) (client netip.AddrPort, n int, err error)
	// Wrap returns c reading its header itself: for a connection handed
	// to net/http before anything was read from it.
	Wrap(c net.Conn) net.Conn
}
