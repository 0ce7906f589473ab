package access

import (
	"fmt"
	"net/http"
)

// Denied is a refusal with the HTTP answer to give: the status, a short
// reason (the status line's text, as websockify sends it) and any headers
// the client needs, such as WWW-Authenticate for a 401 or Retry-After for a
// 429. Every refusal from this package is a *Denied; find it with errors.As
// or through the Refusal method.
type Denied struct {
	// Status is the HTTP status code to answer with.
	Status int
	// Msg is the reason phrase ("Unauthorized", "Invalid Origin"). It is
	// safe to show to the client: it never contains secrets or the
	// expected values.
	Msg string
	// Header holds headers to add to the answer; nil means none.
	Header http.Header
}

// Error returns "access: <status> <msg>".
func (d *Denied) Error() string {
	return fmt.Sprintf("access: %d %s", d.Status, d.Msg)
}

// Refusal returns the status and headers to answer with. It implements the
// bridge's refusal interface; the header is a copy, so the caller may add to
// it.
func (d *Denied) Refusal() (int, http.Header) {
	return d.Status, d.Header.Clone()
}

// deny builds a *Denied with the standard reason phrase for status.
func deny(status int, h http.Header) *Denied {
	return &Denied{Status: status, Msg: http.StatusText(status), Header: h}
}
