package tokens

import "errors"

// ErrNotFound is returned by Lookup for a token that leads nowhere: unknown,
// malformed (TokenFileName and UnixDomainSocketDirectory names that are not
// one local name) or rejected (JWTTokenApi signature or time checks). Errors
// wrapping it may say why; callers answer all of them the same way, so the
// answer does not tell a prober which tokens exist.
var ErrNotFound = errors.New("tokens: token not found")

// ErrUnavailable is wrapped by Lookup errors from a backend that cannot answer
// (TokenRedis: server unreachable, timed out, refusing our credentials), so a
// caller can answer 503 rather than 404: the token may well be valid.
var ErrUnavailable = errors.New("tokens: token backend unavailable")

// errNotSocket says a UnixDomainSocketDirectory entry is not a socket.
var errNotSocket = errors.New("not a unix socket")
