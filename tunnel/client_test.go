package tunnel

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"wsbridge/frames"
)

// waitFor bounds every wait in these tests. It is a failure bound, never a
// way to let something happen: tests wait on events, with this as the limit.
const waitFor = 15 * time.Second

// wsClient is a minimal WebSocket client for tests, built on frames/ in the
// client role.
type wsClient struct {
	conn net.Conn
	rd   *frames.Reader
	wr   *frames.Writer

	maxFrame int   // largest data frame payload read so far
	pongs    int   // pongs read
	pings    int   // pings read (and answered unless noPong)
	noPong   bool  // read pings without answering them
	stopAt   int   // if > 0, next returns errEnoughPings once this many pings were read
	frames   int64 // data frames read
}

// dialWS opens a WebSocket to addr with extra request header lines (each
// "Name: value"). It fails the test on anything but a 101. The connection
// is closed when the test ends, before the server is shut down.
func dialWS(t testing.TB, addr string, extra ...string) *wsClient {
	t.Helper()
	c, resp, err := tryDialWS(addr, extra...)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: got status %d, want 101", resp.StatusCode)
	}
	t.Cleanup(func() { c.conn.Close() })
	c.conn.SetDeadline(time.Now().Add(waitFor))
	return c
}

// tryDialWS performs a handshake and returns the response; c is nil unless
// the status is 101.
func tryDialWS(addr string, extra ...string) (*wsClient, *http.Response, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, nil, err
	}
	return handshakeWS(conn, "/websockify", addr, extra...)
}

// handshakeWS sends an upgrade request for path on conn and reads the reply.
func handshakeWS(conn net.Conn, path, host string, extra ...string) (*wsClient, *http.Response, error) {
	conn.SetDeadline(time.Now().Add(waitFor))
	var k [16]byte
	rand.Read(k[:])
	key := frames.NewKey(k)
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path, host)
	fmt.Fprintf(&b, "Sec-WebSocket-Key: %s\r\n", key)
	hasVersion := false
	for _, h := range extra {
		if strings.HasPrefix(strings.ToLower(h), "sec-websocket-version:") {
			hasVersion = true
		}
	}
	if !hasVersion {
		b.WriteString("Sec-WebSocket-Version: 13\r\n")
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, resp, nil
	}
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), frames.AcceptKey(key); got != want {
		conn.Close()
		return nil, resp, fmt.Errorf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	return &wsClient{conn: conn, rd: frames.NewReader(br, frames.RoleClient), wr: frames.NewWriter(conn, frames.RoleClient)}, resp, nil
}

var errEnoughPings = errors.New("enough pings")

// errClose is returned by readN when a Close frame arrives first.
type errClose struct {
	code   frames.CloseCode
	reason string
}

func (e *errClose) Error() string { return fmt.Sprintf("close frame %d %q", e.code, e.reason) }

// next reads the next data frame or Close, answering pings (unless
// noPong) and counting pongs. It returns the header; for a Close, err is an
// *errClose. A data frame's payload is left for the caller to read.
func (c *wsClient) next() (frames.Header, error) {
	for {
		h, err := c.rd.NextFrame()
		if err != nil {
			return h, err
		}
		switch h.Op {
		case frames.OpClose:
			code, reason, err := frames.ParseClose(c.rd.ControlPayload())
			if err != nil {
				return h, err
			}
			return h, &errClose{code, reason}
		case frames.OpPing:
			c.pings++
			if !c.noPong && !c.wr.Closed() {
				if err := c.wr.WriteControl(frames.OpPong, c.rd.ControlPayload()); err != nil {
					return h, err
				}
			}
			if c.stopAt > 0 && c.pings >= c.stopAt {
				return h, errEnoughPings
			}
		case frames.OpPong:
			c.pongs++
		case frames.OpBinary:
			// §5 of the brief: each target read is one unfragmented,
			// unmasked (checked by the Reader) binary frame.
			if !h.Fin {
				return h, errors.New("fragmented frame from server")
			}
			c.frames++
			c.maxFrame = max(c.maxFrame, int(h.Length))
			return h, nil
		default:
			return h, fmt.Errorf("unexpected %v frame from server", h.Op)
		}
	}
}

// readN reads exactly n payload bytes of data frames into w.
func (c *wsClient) readN(w io.Writer, n int64) error {
	buf := make([]byte, 32<<10)
	for n > 0 {
		if c.rd.Remaining() == 0 {
			if _, err := c.next(); err != nil {
				return err
			}
			continue
		}
		m, err := io.CopyBuffer(w, io.LimitReader(c.rd, n), buf)
		n -= m
		if err != nil {
			return err
		}
	}
	return nil
}

// readUntilClose reads binary payload into w until a Close frame and
// returns its code and reason. Pings are answered.
func (c *wsClient) readUntilClose(w io.Writer) (frames.CloseCode, string, error) {
	buf := make([]byte, 32<<10)
	for {
		if _, err := c.next(); err != nil {
			if ce := (*errClose)(nil); errors.As(err, &ce) {
				return ce.code, ce.reason, nil
			}
			return 0, "", err
		}
		if _, err := io.CopyBuffer(w, c.rd, buf); err != nil {
			return 0, "", err
		}
	}
}

// expectClose reads (and discards) data until a Close and checks its code
// and reason.
func (c *wsClient) expectClose(t testing.TB, code frames.CloseCode, reason string) {
	t.Helper()
	gotCode, gotReason, err := c.readUntilClose(io.Discard)
	if err != nil {
		t.Fatalf("reading until Close: %v", err)
	}
	if gotCode != code || gotReason != reason {
		t.Fatalf("got Close %d %q, want %d %q", gotCode, gotReason, code, reason)
	}
}

// expectEOF checks that the server closes the TCP connection, with nothing
// but (ignored) data and control frames before it.
func (c *wsClient) expectEOF(t testing.TB) {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(waitFor))
	_, err := io.Copy(io.Discard, c.conn)
	if isTimeout(err) {
		t.Fatalf("server did not close the connection: %v", err)
	}
	// A reset is also a close; io.Copy reports a clean EOF as nil.
}

// sendMessage writes data as one binary message, cut into fragments of
// random sizes up to maxFrag (some empty), with a ping between fragments
// with probability pingP; pongs are not read here.
func (c *wsClient) sendMessage(data []byte, rng *mrand.Rand, maxFrag int, pingP float64) (pings int, err error) {
	first := true
	for first || len(data) > 0 {
		n := 0
		if len(data) > 0 {
			n = min(len(data), rng.IntN(maxFrag)+1)
		}
		if rng.IntN(16) == 0 {
			n = 0 // an empty fragment now and then
		}
		fin := n == len(data)
		op := frames.OpBinary
		if !first {
			op = frames.OpContinuation
		}
		if err := c.wr.WriteFragment(op, data[:n], fin); err != nil {
			return pings, err
		}
		data = data[n:]
		first = false
		if !fin && rng.Float64() < pingP {
			if err := c.wr.WriteControl(frames.OpPing, []byte("mid")); err != nil {
				return pings, err
			}
			pings++
		}
		if fin {
			return pings, nil
		}
	}
	return pings, nil
}

// writeRaw writes a frame with any header the test likes: h.Length is set
// from payload, which is masked with h.Mask when h.Masked.
func writeRaw(w io.Writer, h frames.Header, payload []byte) error {
	h.Length = int64(len(payload))
	b := make([]byte, frames.HeaderLen(h)+len(payload))
	n := frames.PutHeader(b, h)
	copy(b[n:], payload)
	if h.Masked {
		frames.Mask(h.Mask, 0, b[n:])
	}
	_, err := w.Write(b)
	return err
}
