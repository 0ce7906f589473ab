package deflate

import (
	"errors"
	"strings"
	"testing"
)

const pmd = "permessage-deflate"

var negotiateTests = []struct {
	name   string
	opts   Options
	offers []string
	want   string // "" when declined
	p      Params
}{
	{"no header", Options{}, nil, "", Params{}},
	{"other extension", Options{}, []string{"x-webkit-deflate-frame"}, "", Params{}},
	{"bare", Options{}, []string{pmd}, pmd, Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"Chromium", Options{}, []string{pmd + "; client_max_window_bits"}, pmd, Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"server_no_context_takeover", Options{}, []string{pmd + "; server_no_context_takeover"}, pmd + "; server_no_context_takeover", Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"client_no_context_takeover echoed", Options{}, []string{pmd + "; client_no_context_takeover"}, pmd + "; client_no_context_takeover", Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"server_max_window_bits honoured", Options{}, []string{pmd + "; server_max_window_bits=8"}, pmd + "; server_max_window_bits=8", Params{ServerMaxWindowBits: 8, ClientMaxWindowBits: 15}},
	{"server_max_window_bits=15 answered", Options{}, []string{pmd + "; server_max_window_bits=15"}, pmd + "; server_max_window_bits=15", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"client_max_window_bits value echoed", Options{}, []string{pmd + "; client_max_window_bits=10"}, pmd + "; client_max_window_bits=10", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 10}},
	{"quoted value", Options{}, []string{pmd + `; server_max_window_bits="10"`}, pmd + "; server_max_window_bits=10", Params{ServerMaxWindowBits: 10, ClientMaxWindowBits: 15}},
	{"case and spacing", Options{}, []string{"Permessage-Deflate ;Server_No_Context_Takeover\t; server_max_window_bits = 9"}, pmd + "; server_no_context_takeover; server_max_window_bits=9", Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}},
	{"first acceptable of several", Options{}, []string{"x-foo, " + pmd + "; server_max_window_bits=7, " + pmd + "; client_no_context_takeover, " + pmd}, pmd + "; client_no_context_takeover", Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"several header lines", Options{}, []string{"x-foo", pmd + "; server_max_window_bits=9"}, pmd + "; server_max_window_bits=9", Params{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}},
	{"empty list entries", Options{}, []string{" , ," + pmd + ",,"}, pmd, Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"comma in a quoted string", Options{}, []string{`x; a="b, ` + pmd + `", ` + pmd + "; client_no_context_takeover"}, pmd + "; client_no_context_takeover", Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"Autobahn 13.7", Options{}, []string{pmd + "; server_no_context_takeover; server_max_window_bits=8, " + pmd + "; server_no_context_takeover, " + pmd}, pmd + "; server_no_context_takeover; server_max_window_bits=8", Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 8, ClientMaxWindowBits: 15}},

	{"duplicate parameter", Options{}, []string{pmd + "; server_no_context_takeover; server_no_context_takeover"}, "", Params{}},
	{"unknown parameter", Options{}, []string{pmd + "; foo"}, "", Params{}},
	{"value on no_context_takeover", Options{}, []string{pmd + "; server_no_context_takeover=1"}, "", Params{}},
	{"server_max_window_bits without value", Options{}, []string{pmd + "; server_max_window_bits"}, "", Params{}},
	{"window 7", Options{}, []string{pmd + "; server_max_window_bits=7"}, "", Params{}},
	{"window 16", Options{}, []string{pmd + "; client_max_window_bits=16"}, "", Params{}},
	{"leading zero", Options{}, []string{pmd + "; server_max_window_bits=09"}, "", Params{}},
	{"sign", Options{}, []string{pmd + "; server_max_window_bits=+9"}, "", Params{}},
	{"quoted non-token", Options{}, []string{pmd + `; server_max_window_bits="1 0"`}, "", Params{}},
	{"unterminated quote", Options{}, []string{pmd + `; server_max_window_bits="10`}, "", Params{}},
	{"garbage after the name", Options{}, []string{pmd + " x"}, "", Params{}},
	{"empty parameter", Options{}, []string{pmd + ";"}, "", Params{}},

	{"server wants no takeover", Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, []string{pmd}, pmd + "; server_no_context_takeover; client_no_context_takeover", Params{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"server window announced", Options{ServerMaxWindowBits: 10}, []string{pmd}, pmd + "; server_max_window_bits=10", Params{ServerMaxWindowBits: 10, ClientMaxWindowBits: 15}},
	{"server window, client asks larger", Options{ServerMaxWindowBits: 10}, []string{pmd + "; server_max_window_bits=12"}, pmd + "; server_max_window_bits=10", Params{ServerMaxWindowBits: 10, ClientMaxWindowBits: 15}},
	{"server window, client asks smaller", Options{ServerMaxWindowBits: 10}, []string{pmd + "; server_max_window_bits=9"}, pmd + "; server_max_window_bits=9", Params{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}},
	{"client window, offered bare", Options{ClientMaxWindowBits: 10}, []string{pmd + "; client_max_window_bits"}, pmd + "; client_max_window_bits=10", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 10}},
	{"client window, not offered", Options{ClientMaxWindowBits: 10}, []string{pmd}, pmd, Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	{"client window, offered smaller", Options{ClientMaxWindowBits: 10}, []string{pmd + "; client_max_window_bits=9"}, pmd + "; client_max_window_bits=9", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 9}},
	{"client window, offered larger", Options{ClientMaxWindowBits: 10}, []string{pmd + "; client_max_window_bits=12"}, pmd + "; client_max_window_bits=10", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 10}},
}

func TestNegotiate(t *testing.T) {
	for _, tt := range negotiateTests {
		t.Run(tt.name, func(t *testing.T) {
			p, resp, ok := newExt(t, tt.opts).Negotiate(tt.offers)
			if ok != (tt.want != "") || resp != tt.want {
				t.Fatalf("got %q, %v, want %q", resp, ok, tt.want)
			}
			if p != tt.p {
				t.Errorf("got params %+v, want %+v", p, tt.p)
			}
		})
	}
}

func TestOffer(t *testing.T) {
	tests := []struct {
		opts Options
		want string
	}{
		{Options{}, pmd + "; client_max_window_bits"},
		{Options{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, pmd + "; client_max_window_bits"},
		{Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 10, ClientMaxWindowBits: 9}, pmd + "; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"},
	}
	for _, tt := range tests {
		if got := newExt(t, tt.opts).Offer(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.opts, got, tt.want)
		}
	}
}

func TestAccept(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		resp []string
		ok   bool
		err  string // part of the error, "" for none
		p    Params
	}{
		{"declined", Options{}, nil, false, "", Params{}},
		{"bare", Options{}, []string{pmd}, true, "", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{"everything", Options{}, []string{pmd + "; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10"}, true, "", Params{true, true, 9, 10}},
		{"client window without value", Options{}, []string{pmd + "; client_max_window_bits"}, false, "client_max_window_bits", Params{}},
		{"two answers", Options{}, []string{pmd, pmd}, false, "2 extensions", Params{}},
		{"another extension", Options{}, []string{"x-foo"}, false, "x-foo", Params{}},
		{"unknown parameter", Options{}, []string{pmd + "; foo=1"}, false, "foo", Params{}},
		{"server no takeover refused", Options{ServerNoContextTakeover: true}, []string{pmd}, false, "server_no_context_takeover", Params{}},
		{"server no takeover granted", Options{ServerNoContextTakeover: true}, []string{pmd + "; server_no_context_takeover"}, true, "", Params{ServerNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
		{"server window missing", Options{ServerMaxWindowBits: 10}, []string{pmd}, false, "server_max_window_bits=10 with 0", Params{}},
		{"server window larger", Options{ServerMaxWindowBits: 10}, []string{pmd + "; server_max_window_bits=11"}, false, "with 11", Params{}},
		{"server window smaller", Options{ServerMaxWindowBits: 10}, []string{pmd + "; server_max_window_bits=9"}, true, "", Params{ServerMaxWindowBits: 9, ClientMaxWindowBits: 15}},
		{"client window larger than offered", Options{ClientMaxWindowBits: 10}, []string{pmd + "; client_max_window_bits=11"}, false, "above the offered 10", Params{}},
		{"client window kept", Options{ClientMaxWindowBits: 10}, []string{pmd}, true, "", Params{ServerMaxWindowBits: 15, ClientMaxWindowBits: 10}},
		{"client no takeover kept", Options{ClientNoContextTakeover: true}, []string{pmd}, true, "", Params{ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok, err := newExt(t, tt.opts).Accept(tt.resp)
			if tt.err != "" {
				if !errors.Is(err, ErrResponse) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v, want ErrResponse mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil || ok != tt.ok || p != tt.p {
				t.Errorf("got %+v, %v, %v, want %+v, %v", p, ok, err, tt.p, tt.ok)
			}
		})
	}
}

// A client's offer, the server's answer and the client's reading of it
// agree, for every mix of options on both sides.
func TestOfferNegotiateAccept(t *testing.T) {
	var all []Options
	for _, noCtx := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		for _, bits := range [][2]int{{0, 0}, {8, 0}, {0, 9}, {12, 10}, {15, 15}} {
			all = append(all, Options{ServerNoContextTakeover: noCtx[0], ClientNoContextTakeover: noCtx[1], ServerMaxWindowBits: bits[0], ClientMaxWindowBits: bits[1]})
		}
	}
	for _, co := range all {
		for _, so := range all {
			offer := newExt(t, co).Offer()
			ps, resp, ok := newExt(t, so).Negotiate([]string{offer})
			if !ok {
				t.Fatalf("server %+v declined %q", so, offer)
			}
			pc, ok, err := newExt(t, co).Accept([]string{resp})
			if err != nil || !ok {
				t.Fatalf("client %+v refused %q (offer %q): %v", co, resp, offer, err)
			}
			if pc != ps {
				t.Fatalf("offer %q, answer %q: client has %+v, server %+v", offer, resp, pc, ps)
			}
		}
	}
}

func TestNew(t *testing.T) {
	for _, o := range []Options{{Level: -1}, {Level: 10}, {ServerMaxWindowBits: 7}, {ClientMaxWindowBits: 16}, {Threshold: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// FuzzNegotiate: any header is either declined or answered with one
// well-formed permessage-deflate element that a client with default
// options accepts, reading the same Params.
func FuzzNegotiate(f *testing.F) {
	for _, tt := range negotiateTests {
		f.Add(strings.Join(tt.offers, "\n"))
	}
	srv := newExt(f, Options{})
	cli := newExt(f, Options{})
	f.Fuzz(func(t *testing.T, h string) {
		ps, resp, ok := srv.Negotiate(strings.Split(h, "\n"))
		if !ok {
			return
		}
		pc, ok, err := cli.Accept([]string{resp})
		if err != nil || !ok || pc != ps {
			t.Fatalf("offer %q: answer %q read as %+v, %v, %v; server has %+v", h, resp, pc, ok, err, ps)
		}
	})
}
