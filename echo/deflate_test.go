package echo_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"wsbridge/echo"
	"wsbridge/frames"
	"wsbridge/frames/deflate"
)

// corpus returns a message of n bytes of one kind, as in Autobahn's
// sections 12 and 13: JSON and HTML text, a bitmap-like picture, random
// bytes.
func corpus(kind string, n int, seed uint64) (frames.Opcode, []byte) {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	var b []byte
	switch kind {
	case "json":
		for len(b) < n {
			b = fmt.Appendf(b, `{"id":%d,"name":"wsbridge","tags":["vnc","ssh","ünïcödé"],"ok":%v},`, rng.IntN(1e6), rng.IntN(2) == 0)
		}
		return frames.OpText, []byte(strings.ToValidUTF8(string(b[:n]), "_"))
	case "html":
		for len(b) < n {
			b = fmt.Appendf(b, "<tr><td class=\"c%d\">Faust – der Tragödie %d. Teil</td></tr>\n", rng.IntN(9), rng.IntN(3))
		}
		return frames.OpText, []byte(strings.ToValidUTF8(string(b[:n]), "_"))
	case "picture": // 32-bit pixels, flat areas with some noise
		b = make([]byte, n)
		for i := 0; i+4 <= n; i += 4 {
			c := uint32(0x3a6ea5)
			if (i/4)%512 > 300 {
				c = 0xf0f0f0
			}
			if rng.IntN(9) == 0 {
				c = 0x101010
			}
			b[i], b[i+1], b[i+2] = byte(c), byte(c>>8), byte(c>>16)
		}
		return frames.OpBinary, b
	default:
		b = make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return frames.OpBinary, b
	}
}

// TestDeflateEcho is Autobahn|Testsuite's sections 12 and 13 through the
// echo endpoint: messages of 16 B to 256 KiB, of four kinds, whole and in
// 256-byte fragments, for each negotiation variant. Every echo must be
// byte-exact, keep its type, and come back compressed.
func TestDeflateEcho(t *testing.T) {
	sizes := []int{16, 64, 256, 1 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 128 << 10, 256 << 10}
	if raceEnabled {
		sizes = sizes[:len(sizes)-2]
	}
	ab13_7 := "permessage-deflate; server_no_context_takeover; server_max_window_bits=8, permessage-deflate; server_no_context_takeover, permessage-deflate"
	variants := []struct {
		name   string
		client deflate.Options // the client's offer
		offer  string          // a raw offer instead
		server deflate.Options
		answer string
	}{
		{"12 default", deflate.Options{}, "", deflate.Options{}, "permessage-deflate"},
		{"13.1 offer without parameters", deflate.Options{}, "permessage-deflate", deflate.Options{}, "permessage-deflate"},
		{"13.2 server_no_context_takeover", deflate.Options{ServerNoContextTakeover: true}, "", deflate.Options{}, "permessage-deflate; server_no_context_takeover"},
		{"13.3 server_max_window_bits=8", deflate.Options{ServerMaxWindowBits: 8}, "", deflate.Options{}, "permessage-deflate; server_max_window_bits=8"},
		{"13.4 server_max_window_bits=15", deflate.Options{ServerMaxWindowBits: 15}, "permessage-deflate; server_max_window_bits=15", deflate.Options{}, "permessage-deflate; server_max_window_bits=15"},
		{"13.5 no takeover, window 8", deflate.Options{ServerNoContextTakeover: true, ServerMaxWindowBits: 8}, "", deflate.Options{}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=8"},
		{"13.6 no takeover, window 15", deflate.Options{ServerNoContextTakeover: true, ServerMaxWindowBits: 15}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=15", deflate.Options{}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=15"},
		{"13.7 several offers", deflate.Options{ServerNoContextTakeover: true, ServerMaxWindowBits: 8}, ab13_7, deflate.Options{}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=8"},
		{"client_no_context_takeover", deflate.Options{ClientNoContextTakeover: true}, "", deflate.Options{}, "permessage-deflate; client_no_context_takeover"},
		{"client_max_window_bits=8", deflate.Options{ClientMaxWindowBits: 8}, "", deflate.Options{}, "permessage-deflate; client_max_window_bits=8"},
		{"client_max_window_bits=12", deflate.Options{ClientMaxWindowBits: 12}, "", deflate.Options{}, "permessage-deflate; client_max_window_bits=12"},
		{"server bounds the client window", deflate.Options{}, "", deflate.Options{ClientMaxWindowBits: 9}, "permessage-deflate; client_max_window_bits=9"},
		{"server without takeover", deflate.Options{}, "", deflate.Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"server window 10, level 9", deflate.Options{}, "", deflate.Options{ServerMaxWindowBits: 10, Level: 9}, "permessage-deflate; server_max_window_bits=10"},
		{"server level 9", deflate.Options{}, "", deflate.Options{Level: 9}, "permessage-deflate"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			sext, err := deflate.New(v.server)
			if err != nil {
				t.Fatal(err)
			}
			addr := serve(t, &echo.Handler{Deflate: sext})
			cext, err := deflate.New(v.client)
			if err != nil {
				t.Fatal(err)
			}
			offer := v.offer
			if offer == "" {
				offer = cext.Offer()
			}
			c := dial(t, addr, offer, cext)
			if c.answer != v.answer {
				t.Fatalf("offer %q: got answer %q, want %q", offer, c.answer, v.answer)
			}
			for _, kind := range []string{"json", "html", "picture", "random"} {
				for _, frag := range []int{0, 256} {
					for i, n := range sizes {
						op, msg := corpus(kind, n, uint64(i))
						gop, compressed, got, err := c.echo(op, msg, frag)
						if err != nil {
							t.Fatalf("%s %d B frag %d: %v", kind, n, frag, err)
						}
						if gop != op || !bytes.Equal(got, msg) {
							t.Fatalf("%s %d B frag %d: got %v %d B, want %v %d B", kind, n, frag, gop, len(got), op, len(msg))
						}
						if !compressed {
							t.Fatalf("%s %d B: echo not compressed", kind, n)
						}
					}
				}
			}
		})
	}
}

// Without Handler.Deflate, or without a valid offer, the extension is
// declined: no header, and RSV1 is a protocol error.
func TestDeflateDeclined(t *testing.T) {
	ext, _ := deflate.New(deflate.Options{})
	tests := []struct {
		name  string
		h     *echo.Handler
		offer string
	}{
		{"handler without deflate", &echo.Handler{}, "permessage-deflate"},
		{"malformed offer", &echo.Handler{Deflate: ext}, "permessage-deflate; server_max_window_bits=16"},
		{"no offer", &echo.Handler{Deflate: ext}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, serve(t, tt.h), tt.offer, nil)
			if op, compressed, got, err := c.echo(frames.OpText, []byte("plain"), 0); err != nil || op != frames.OpText || compressed || string(got) != "plain" {
				t.Fatalf("got %v %v %q %v", op, compressed, got, err)
			}
			if code := c.closeCode(t, frame(true, frames.Rsv1, frames.OpBinary, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})); code != frames.CloseProtocolError {
				t.Errorf("RSV1 without the extension: got close %v, want 1002", code)
			}
		})
	}
}

// Malformed compressed data, RSV1 misuse and a compressed bomb close the
// connection with the right code.
func TestDeflateErrors(t *testing.T) {
	hello := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	ext, _ := deflate.New(deflate.Options{})
	bomb := bombFrames(t, 1024) // 1 GiB of zeros
	tests := []struct {
		name string
		raw  []byte
		want frames.CloseCode
	}{
		{"not deflate", frame(true, frames.Rsv1, frames.OpBinary, []byte{0xff, 0xfe, 0xfd}), frames.CloseInvalidPayload},
		{"distance too far back", frame(true, frames.Rsv1, frames.OpBinary, []byte{0xf2, 0x00, 0x11, 0x00, 0x00}), frames.CloseInvalidPayload},
		{"inflated text not UTF-8", frame(true, frames.Rsv1, frames.OpText, []byte{0x00, 0x02, 0x00, 0xfd, 0xff, 'a', 0xff}), frames.CloseInvalidPayload},
		{"RSV1 on a continuation", append(frame(false, frames.Rsv1, frames.OpBinary, hello[:3]), frame(true, frames.Rsv1, frames.OpContinuation, hello[3:])...), frames.CloseProtocolError},
		{"RSV1 on a ping", frame(true, frames.Rsv1, frames.OpPing, nil), frames.CloseProtocolError},
		{"RSV2", frame(true, frames.Rsv1|frames.Rsv2, frames.OpBinary, hello), frames.CloseProtocolError},
		{"bomb", bomb, frames.CloseMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, &echo.Handler{Deflate: ext, MaxMessage: 1 << 20})
			c := dial(t, addr, ext.Offer(), ext)
			if got := c.closeCode(t, tt.raw); got != tt.want {
				t.Errorf("got close %v, want %v", got, tt.want)
			}
		})
	}
}

// bombFrames returns a compressed message inflating to mib MiB of zeros,
// about 1 KiB per MiB: the frames of a first MiB, then those of a second
// one repeated (with the first in the window they refer only to zeros).
func bombFrames(t *testing.T, mib int) []byte {
	t.Helper()
	ext, _ := deflate.New(deflate.Options{})
	var wire bytes.Buffer
	w := ext.NewWriter(frames.NewWriter(&wire, frames.RoleClient), frames.RoleClient, deflate.Params{})
	zeros := make([]byte, 1<<20)
	var ends []int
	for i := range 3 { // the third ends the message
		if err := w.WriteFragment(frames.OpBinary, zeros, i == 2); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, wire.Len())
	}
	b := wire.Bytes()
	out := bytes.Clone(b[:ends[0]])
	for range mib - 2 {
		out = append(out, b[ends[0]:ends[1]]...)
	}
	return append(out, b[ends[1]:]...)
}
