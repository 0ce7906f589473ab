// Package access decides who may connect, where they may go, and who they
// really are.
//
//   - Authenticators check an HTTP request before the 101 (and, with
//     --web-auth, page requests): websockify's auth plugins (NewAuth), a
//     first-class Origin allow-list (AllowOrigins), combined with All. A
//     refusal is a *Denied carrying the exact HTTP status and headers to
//     answer with.
//   - AllowList limits the targets the bridge dials (--allow-target). Its
//     Control method plugs into net.Dialer, so the check applies to the
//     address actually dialled after name resolution.
//   - ClientIP finds the real client address behind trusted reverse proxies
//     (X-Forwarded-For, RFC 7239 Forwarded); ProxyProtocol does the
//     same for HAProxy's PROXY protocol at the TCP level, on a listener's
//     connections (ProxyProtoListener) or on bytes an event loop read.
//   - Limiter caps connections in total and per client, and the per-client
//     handshake rate.
//
// Nothing here starts a goroutine or keeps package-level state; every value
// is safe for concurrent use once built.
package access
