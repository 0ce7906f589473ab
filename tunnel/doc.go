// Package tunnel bridges WebSocket clients to TCP targets: the upgrade
// (RFC 6455 checks, limits, authorization, routing), the dial, moving the
// bytes both ways, the close mapping, timeouts and shutdown.
//
// Each session pairs one WebSocket with one TCP (or unix) connection.
// Binary frames from the client are streamed to the target as their
// payload arrives, never held whole; what the target sends goes out as
// binary frames of at most Config.MaxFrameSize. The client's Close becomes
// a FIN to the target once everything before it is written, the target's
// FIN a Close to the client once everything before it is sent, and the
// close handshake then completes within Config.CloseTimeout. Pings are
// answered at once, pongs ignored.
//
// A session runs in one of two ways, which behave the same on the wire:
//
//   - On an event loop (Linux, the default for plain sockets): a few loop
//     goroutines, one per CPU at most, each wait in epoll_wait on the
//     sockets of many sessions, edge-triggered, and move whatever became
//     ready: one read and one write per event, payload unmasked in place
//     in the loop's buffer and gathered into one writev. An idle session
//     holds no goroutine and no buffer (evloop_linux.go).
//
//   - On two goroutines of its own, one pump per direction (pump.go),
//     where the loop cannot serve: TLS on either side, permessage-deflate,
//     recording, traffic glyphs, a Config.Dial whose conns are not plain
//     sockets, or Config.DisableEventLoop. Reads wait inside the runtime
//     poller's callback, so that an idle session holds no read buffer
//     either.
//
// A Server is an http.Handler: net/http reads each request, and ServeHTTP
// upgrades it and starts the session. Server.Listener takes that work off
// net/http where it can (Linux, the event loop, a plain TCP or unix
// listener, no Config.Dial, recording or traffic glyphs): the loops
// accept, read the PROXY header if any (ListenOptions.Proxy), read and
// check the request, connect to the target without blocking and answer
// 101 themselves, and hand net/http only what they do not take, with the
// bytes already read (accept_linux.go). What may block
// (Authorize, Resolve, resolving a host name) runs on a goroutine of the
// connection's own, which hands its result back to the loop.
package tunnel
