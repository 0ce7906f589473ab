// Package tokens implements websockify's token plugins: it maps the token a
// client presents (FromRequest) to the target the bridge dials (Source).
//
// New takes websockify's --token-plugin and --token-source values:
//
//   - TokenFile, ReadOnlyTokenFile: a file of "token: host:port" lines, or a
//     directory of such files. As in websockify 0.10–0.13, each line is
//     stripped; empty and '#' lines are skipped; the rest must split, at a
//     colon followed by ONE white-space character, into exactly two parts
//     ("tok:host:port" and "a: b: h:1" are errors, logged with file and line
//     and skipped); the token is the first part as it is (case-sensitive,
//     spaces allowed), the target the second, stripped; the last duplicate
//     wins. The files become a table swapped atomically: a poller re-reads
//     files whose stat changed, and Reload re-reads all (SIGHUP).
//   - TokenFileName: a directory; the token names a file holding host:port.
//   - UnixDomainSocketDirectory: a directory; the token names a unix socket.
//   - TokenRedis: host[:port[:db[:password[:namespace]]]]; the value of the
//     key [namespace:]token is {"host": "h:p"} or h:p.
//   - JWTTokenApi: a key file; the token is a JWT with "host" and "port"
//     claims, signed with HMAC (the file is the secret), RSA, EC or Ed25519
//     (the file is a PEM key).
//
// Every target is host:port (split at the last ':', so "::1:5900" and
// "[::1]:5900" both mean host ::1) or "unix_socket:PATH".
//
// # Differences from websockify
//
//   - Token files are re-read when they change, not at every lookup; a
//     lookup costs one map read. ReadOnlyTokenFile is the same plugin.
//   - Ports are checked when a file is loaded (1–65535); a bad one skips
//     its line, with file and line logged, instead of failing at connect.
//     Line numbers count per file, not across a directory.
//   - "[::1]:5900" is accepted everywhere (websockify cannot resolve it),
//     and TokenRedis and TokenFileName values may hold IPv6 hosts.
//   - A directory's files are read in name order (websockify: arbitrary),
//     so the last duplicate to win is well defined. Subdirectories, FIFOs
//     and other non-regular entries are skipped and logged (websockify
//     0.10–0.13 fails every lookup on a subdirectory).
//   - A file that cannot be read keeps the targets it had; a missing
//     source at start-up is an error of New, not of every lookup.
//   - TokenFileName and UnixDomainSocketDirectory tokens must be one local
//     name: "a/b" is refused (websockify reduces it to "b"), so are "..",
//     NUL and sibling-prefix escapes (websockify's UnixDomainSocketDirectory
//     lets "../socks2/x" through for a directory "socks"). Files are
//     reached through os.Root: symlinks leaving the directory are refused,
//     and UnixDomainSocketDirectory refuses symlinks altogether.
//   - JWTTokenApi allows 30 s of clock skew by default (websockify: none),
//     allows only the algorithms of the key's type, and rejects encrypted
//     tokens (JWE), which websockify accepts but never tested.
//   - TokenRedis lookups are bounded by a timeout (websockify: none), and a
//     Redis that cannot answer is ErrUnavailable, not "token not found".
//   - The HTTP API plugins (BaseTokenAPI, JSONTokenApi) are not provided.
//   - Tokens are never logged.
//
// All sources are safe for concurrent use. Close stops their goroutines.
package tokens
