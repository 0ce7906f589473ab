package deflate

import (
	"strconv"
	"strings"

	"wsbridge/frames"
)

// Name is the extension's name in Sec-WebSocket-Extensions.
const Name = "permessage-deflate"

// The LZ77 window sizes RFC 7692 §7.1.2 allows, as powers of two.
const (
	MinWindowBits = 8
	MaxWindowBits = 15
)

// Params is an agreed permessage-deflate configuration (RFC 7692 §7.1), the
// same at both ends: which side resets its compressor after every message,
// and the largest window each side compresses with. Window bits are 8..15;
// zero means 15. The zero value is the RFC's default: context takeover both
// ways, 32 KiB windows.
type Params struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	ServerMaxWindowBits     int
	ClientMaxWindowBits     int
}

// String returns p as a Sec-WebSocket-Extensions value, leaving out what is
// the default.
func (p Params) String() string {
	return offered{
		serverNoCtx: p.ServerNoContextTakeover,
		clientNoCtx: p.ClientNoContextTakeover,
		serverBits:  explicit(p.ServerMaxWindowBits),
		clientBits:  explicit(p.ClientMaxWindowBits),
	}.String()
}

// sender returns the context takeover and window of the compressor that
// the endpoint in role uses, and receiver those of the compressor it reads.
func (p Params) sender(role frames.Role) (takeover bool, bits int) {
	if role == frames.RoleServer {
		return !p.ServerNoContextTakeover, windowBits(p.ServerMaxWindowBits)
	}
	return !p.ClientNoContextTakeover, windowBits(p.ClientMaxWindowBits)
}

func (p Params) receiver(role frames.Role) (takeover bool, bits int) {
	if role == frames.RoleServer {
		return p.sender(frames.RoleClient)
	}
	return p.sender(frames.RoleServer)
}

// windowBits maps the zero value to 15.
func windowBits(b int) int {
	if b == 0 {
		return MaxWindowBits
	}
	return b
}

// explicit maps 15, the default, to 0 (absent).
func explicit(b int) int {
	if b == MaxWindowBits {
		return 0
	}
	return b
}

// offered holds the parameters of one permessage-deflate offer or
// response. A window of 0 means the parameter is absent; clientBare
// records client_max_window_bits without a value (only valid in an offer).
type offered struct {
	serverNoCtx, clientNoCtx bool
	serverBits, clientBits   int
	clientBare               bool
}

// parseOffer checks e's parameters against RFC 7692 §7.1: only the four
// known ones, each at most once, the no-context-takeover ones without a
// value, the window sizes as integers 8..15 without leading zeros.
// server_max_window_bits needs a value; client_max_window_bits may lack
// one (the caller decides where that is allowed).
func parseOffer(e element) (offered, bool) {
	var o offered
	if e.bad || !strings.EqualFold(e.name, Name) {
		return o, false
	}
	var seen [4]bool
	for _, p := range e.params {
		i := -1
		switch strings.ToLower(p.name) {
		case "server_no_context_takeover":
			i, o.serverNoCtx = 0, true
		case "client_no_context_takeover":
			i, o.clientNoCtx = 1, true
		case "server_max_window_bits":
			i = 2
		case "client_max_window_bits":
			i = 3
		}
		if i < 0 || seen[i] {
			return o, false
		}
		seen[i] = true
		switch {
		case i < 2 && p.hasValue:
			return o, false
		case i == 2:
			b, ok := parseBits(p)
			if !ok {
				return o, false
			}
			o.serverBits = b
		case i == 3 && !p.hasValue:
			o.clientBare = true
		case i == 3:
			b, ok := parseBits(p)
			if !ok {
				return o, false
			}
			o.clientBits = b
		}
	}
	return o, true
}

// parseBits reads a window size: "a decimal integer value without leading
// zeroes between 8 to 15, inclusive" (§7.1.2.1).
func parseBits(p param) (int, bool) {
	v := p.value
	if !p.hasValue || v == "" || v[0] == '0' || len(v) > 2 || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	b, _ := strconv.Atoi(v) // one or two digits
	return b, b >= MinWindowBits && b <= MaxWindowBits
}

// String renders o as a Sec-WebSocket-Extensions element.
func (o offered) String() string {
	var b strings.Builder
	b.WriteString(Name)
	if o.serverNoCtx {
		b.WriteString("; server_no_context_takeover")
	}
	if o.clientNoCtx {
		b.WriteString("; client_no_context_takeover")
	}
	if o.serverBits != 0 {
		b.WriteString("; server_max_window_bits=")
		b.WriteString(strconv.Itoa(o.serverBits))
	}
	switch {
	case o.clientBits != 0:
		b.WriteString("; client_max_window_bits=")
		b.WriteString(strconv.Itoa(o.clientBits))
	case o.clientBare:
		b.WriteString("; client_max_window_bits")
	}
	return b.String()
}
