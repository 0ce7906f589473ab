// Package deflate is the permessage-deflate WebSocket extension (RFC 7692)
// for frames: negotiation for both roles, a Reader that inflates compressed
// messages as their frames arrive, and a Writer that compresses messages as
// they are written. Like frames it works on plain values and io streams and
// never touches net.Conn or net/http: headers go in and out as strings.
//
// # Use
//
// One Extension per endpoint holds the options and the pools that its
// connections share. A server calls Negotiate with the client's
// Sec-WebSocket-Extensions values and, if it agrees, sends the returned
// value in its 101; a client sends Offer and checks the 101 with Accept.
// Either way the agreed Params then wrap the connection's frames.Reader and
// frames.Writer in NewReader and NewWriter, which are used like them.
//
// # Decisions
//
// The flate code is github.com/klauspost/compress/flate rather than
// compress/flate: it compresses 2–10 times faster at a similar or better
// ratio (it stores incompressible data almost for free, which matters for
// SSH and other encrypted streams through the bridge), inflates faster, and
// its NewWriterWindow honours a window below 32 KiB. That last point
// decides negotiation: RFC 7692 §7.1.2.1 lets a client ask for
// server_max_window_bits as small as 8, and compressing with a larger
// window than agreed would produce back-references the client's inflater
// cannot follow. compress/flate always uses a 32 KiB window, so with it a
// server could only decline such offers; here every well-formed offer is
// accepted and honoured. Offers that are malformed (unknown or duplicate
// parameters, bad values, bad syntax) are skipped, as §5.1 asks.
//
// Memory. A flate compressor weighs about 0.8–1.4 MiB (hash tables and
// history). With context takeover (the default of RFC 7692) each connection
// keeps one for its whole life; with no context takeover the compressor is
// taken from a pool for one message and given back, so an idle connection
// holds none. On the receiving side the inflater (about 40 KiB) is always
// pooled: with the peer's context takeover the Reader keeps only a copy of
// the last 2^window-bits bytes it inflated (32 KiB at most) and primes the
// pooled inflater with it at each message. A server bounds its memory with
// Options.ServerNoContextTakeover and Options.ClientMaxWindowBits.
//
// Limits and errors. Inflation is streaming: a message never sits whole in
// memory, and one that inflates past Reader.MaxMessage fails with
// frames.ErrMessageTooBig (close 1009) after at most 32 KiB more, so a
// compressed bomb costs nothing but the CPU to inflate up to the limit.
// Data that does not inflate fails with ErrCorrupt (close 1007, as npm ws
// does); invalid UTF-8 in an inflated text message with
// frames.ErrInvalidUTF8 (1007); RSV1 on a control frame or a continuation
// frame with ErrRsv1Control or ErrRsv1Continuation (1002, RFC 7692 §6.1).
// RSV1 when the extension was not negotiated is the frames.Reader's
// frames.ErrReservedBits (1002).
//
// # Concurrency
//
// An Extension is safe for concurrent use. A Reader and a Writer follow the
// rules of the frames.Reader and frames.Writer they wrap.
package deflate
