package access

import "errors"

// ErrTargetNotAllowed is returned (wrapped, with the address) by
// AllowList.Control when a dial goes to an address outside the allow-list.
// Callers branch on it with errors.Is to answer "forbidden" rather than
// "target down".
var ErrTargetNotAllowed = errors.New("access: target not in the allow-list")
