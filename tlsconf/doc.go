// Package tlsconf turns wsbridge's TLS flags into a [tls.Config] and a
// listener that serves TLS and plain HTTP on the same port, as websockify
// does.
//
// A [Provider] is built once from a [Config] by [New], which checks every
// flag up front and names the flag in each error. Certificates come from
// one of two sources:
//
//   - Files (--cert, --key): read at start, re-read when they change (a
//     poller, every ReloadInterval) or on [Provider.Reload] (SIGHUP). Several
//     certificates are chosen by SNI. A broken new file keeps the old
//     certificate.
//   - ACME (--acme-domain): an [autocert.Manager] obtains and renews
//     certificates from Let's Encrypt (or another ACME directory) with the
//     TLS-ALPN-01 challenge on the TLS port, or HTTP-01 through
//     [Provider.HTTPHandler].
//
// [Provider.Listener] wraps a listener so that each accepted connection is
// sniffed: a first byte of 0x16 (a TLS record) or 0x80 (an SSLv2-style
// hello) means TLS, anything else plain HTTP, which --ssl-only refuses.
//
// With --verify-client the client must present a certificate signed by
// --cafile; its identity is read only from the verified chain
// ([PeerNames]), never from headers.
//
// [TargetTLS] is the other direction: TLS from the bridge to the target
// (--ssl-target), verified against the system roots or --target-ca.
//
// Logs go to the Config's LoggerFactory under the scope "tlsconf", so
// PION_LOG_DEBUG=tlsconf shows handshake failures.
package tlsconf
