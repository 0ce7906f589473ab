// Package frames is a streaming RFC 6455 WebSocket frame codec.
//
// It works on plain io.Reader and io.Writer values and never touches
// net.Conn or net/http, so it can be tested and fuzzed in memory and used
// in both the server role (the bridge) and the client role (client mode).
//
// There are two layers. The bottom one is stateless: a Header value,
// ReadHeader and PutHeader, Check (the RFC 6455 §5 rules for one header in
// a given role), Mask (resumable at any offset) and the handshake helpers
// AcceptKey and CheckKey. The top one streams: Reader hands out each data
// frame's payload as an io.Reader, unmasked and (for text) UTF-8 checked as
// it arrives, tracks fragmentation across frames and returns control frames
// to the caller as they arrive, also between fragments. Writer writes
// frames, fragments long payloads, and masks in the client role.
//
// Extensions sit on top: Reader.AllowedRsv lets their RSV bits through and
// Writer.WriteFrame sets them. The subpackage deflate is permessage-deflate
// (RFC 7692), wrapping a Reader and a Writer.
//
// Nothing here buffers a whole message: memory per Reader and Writer is a
// few hundred bytes plus what the caller's buffers hold.
//
// # Concurrency
//
// A Reader is used by one goroutine. A Writer is used by one goroutine at a
// time; a caller that writes control frames from one goroutine and data
// frames from another serialises them itself (a mutex around each call is
// enough, since each call writes whole frames).
//
// # Errors
//
// Every protocol violation is returned as an *Error carrying the close code
// that the peer should be sent (1002, 1007, 1009, ...). CloseCodeOf
// extracts it from any wrapped error.
package frames
