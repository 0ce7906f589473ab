package deflate

import "fmt"

// Negotiate is the server's side of RFC 7692 §5: it reads the client's
// Sec-WebSocket-Extensions values (every header line, in order), takes the
// first permessage-deflate offer that is well formed, and returns the
// agreed Params and the value of the Sec-WebSocket-Extensions header to
// answer with. ok is false when there is no such offer: the server then
// sends no extension header and does not compress.
//
// Every well-formed offer can be honoured, whatever windows it asks for
// (see the package doc). The answer never carries a parameter the offer did
// not allow: client_max_window_bits only if the client offered it, with
// no larger a value.
func (e *Extension) Negotiate(offers []string) (p Params, response string, ok bool) {
	for _, el := range parseList(offers) {
		if o, ok := parseOffer(el); ok {
			return e.answer(o)
		}
	}
	return Params{}, "", false
}

// answer accepts offer o, adding what e's options ask for.
func (e *Extension) answer(o offered) (Params, string, bool) {
	a := offered{
		// §7.1.1: a server may add either no-context-takeover parameter,
		// and echoing the client's announcement lets it drop the window.
		serverNoCtx: o.serverNoCtx || e.opts.ServerNoContextTakeover,
		clientNoCtx: o.clientNoCtx || e.opts.ClientNoContextTakeover,
	}
	// §7.1.2.1: an offer's server_max_window_bits is accepted by answering
	// with the same or a smaller value; without one the server may still
	// announce its own.
	sb := windowBits(e.opts.ServerMaxWindowBits)
	if o.serverBits != 0 {
		sb = min(sb, o.serverBits)
		a.serverBits = sb
	} else {
		a.serverBits = explicit(sb)
	}
	// §7.1.2.2: client_max_window_bits only if offered, no larger than the
	// offer's value.
	cb := MaxWindowBits
	if o.clientBare || o.clientBits != 0 {
		cb = windowBits(e.opts.ClientMaxWindowBits)
		if o.clientBits != 0 {
			cb = min(cb, o.clientBits)
		}
		a.clientBits = explicit(cb)
	}
	p := Params{
		ServerNoContextTakeover: a.serverNoCtx,
		ClientNoContextTakeover: a.clientNoCtx,
		ServerMaxWindowBits:     sb,
		ClientMaxWindowBits:     cb,
	}
	return p, a.String(), true
}

// Offer returns the Sec-WebSocket-Extensions value a client sends to ask
// for permessage-deflate with e's options. client_max_window_bits is always
// offered (without a value when Options.ClientMaxWindowBits is zero): any
// window the server picks can be honoured.
func (e *Extension) Offer() string {
	o := offered{
		serverNoCtx: e.opts.ServerNoContextTakeover,
		clientNoCtx: e.opts.ClientNoContextTakeover,
		serverBits:  explicit(e.opts.ServerMaxWindowBits),
		clientBits:  explicit(e.opts.ClientMaxWindowBits),
	}
	o.clientBare = o.clientBits == 0
	return o.String()
}

// Accept is the client's side: it checks the server's Sec-WebSocket-
// Extensions values against Offer and returns the agreed Params. ok is
// false, with no error, when the server declined (no extension). An error
// (wrapping ErrResponse) means the client must fail the connection: another
// or a second extension, a malformed parameter, client_max_window_bits
// without a value or above the offered one, no server_no_context_takeover
// or server_max_window_bits when the offer asked for it, or a larger
// server window than asked. The Params returned also carry the client's
// own announcements (Options.ClientNoContextTakeover and
// ClientMaxWindowBits), which bind its compressor even if not echoed.
func (e *Extension) Accept(response []string) (p Params, ok bool, err error) {
	els := parseList(response)
	switch {
	case len(els) == 0:
		return Params{}, false, nil
	case len(els) > 1:
		return Params{}, false, fmt.Errorf("%w: %d extensions in %q, offered one", ErrResponse, len(els), response)
	}
	r, ok := parseOffer(els[0])
	if !ok || r.clientBare {
		return Params{}, false, fmt.Errorf("%w: %q", ErrResponse, response)
	}
	if e.opts.ServerNoContextTakeover && !r.serverNoCtx {
		return Params{}, false, fmt.Errorf("%w: %q lacks the server_no_context_takeover asked for", ErrResponse, response)
	}
	if want := explicit(e.opts.ServerMaxWindowBits); want != 0 && (r.serverBits == 0 || r.serverBits > want) {
		return Params{}, false, fmt.Errorf("%w: %q answers server_max_window_bits=%d with %d", ErrResponse, response, want, r.serverBits)
	}
	if own := explicit(e.opts.ClientMaxWindowBits); own != 0 && r.clientBits > own {
		return Params{}, false, fmt.Errorf("%w: %q raises client_max_window_bits above the offered %d", ErrResponse, response, own)
	}
	p = Params{
		ServerNoContextTakeover: r.serverNoCtx,
		ClientNoContextTakeover: r.clientNoCtx || e.opts.ClientNoContextTakeover,
		ServerMaxWindowBits:     windowBits(r.serverBits),
		ClientMaxWindowBits:     min(windowBits(r.clientBits), windowBits(e.opts.ClientMaxWindowBits)),
	}
	return p, true, nil
}
