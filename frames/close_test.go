package frames

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// closeCodes lists codes a Close frame may and may not carry (RFC 6455
// §7.4, Autobahn 7.7.x, 7.9.x and 7.13.x).
var closeCodes = []struct {
	code  CloseCode
	valid bool
}{
	{1000, true}, {1001, true}, {1002, true}, {1003, true},
	{1007, true}, {1008, true}, {1009, true}, {1010, true}, {1011, true},
	{1012, true}, {1013, true}, {1014, true}, // registered with IANA after the RFC
	{3000, true}, {3999, true}, {4000, true}, {4999, true},
	{0, false}, {999, false}, {1004, false}, {1005, false}, {1006, false},
	{1015, false}, {1016, false}, {1100, false}, {2000, false}, {2999, false},
	{5000, false}, {65535, false},
}

func TestValidOnWire(t *testing.T) {
	for _, tt := range closeCodes {
		if got := tt.code.ValidOnWire(); got != tt.valid {
			t.Errorf("%d: got %v, want %v", tt.code, got, tt.valid)
		}
	}
}

func TestParseClose(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		code    CloseCode
		reason  string
		err     error
	}{
		{"empty", "", CloseNoStatus, "", nil},
		{"1 byte", "\x03", 0, "", ErrClosePayloadLen},
		{"code only", "\x03\xe8", CloseNormal, "", nil},
		{"code and reason", "\x03\xe9bye", CloseGoingAway, "bye", nil},
		{"UTF-8 reason", "\x0f\xa0κόσμε", 4000, "κόσμε", nil},
		{"123-byte reason", "\x03\xe8" + strings.Repeat("*", 123), CloseNormal, strings.Repeat("*", 123), nil},
		{"code 0", "\x00\x00", 0, "", ErrCloseCode},
		{"code 1005", "\x03\xed", CloseNoStatus, "", ErrCloseCode},
		{"code 1006", "\x03\xee", CloseAbnormal, "", ErrCloseCode},
		{"code 65535", "\xff\xff", 65535, "", ErrCloseCode},
		{"invalid reason", "\x03\xe8" + unhex("cebae1bdb9cf83cebcceb5eda080656469746564"), CloseNormal, "", ErrInvalidCloseReason},
		{"truncated reason", "\x03\xe8\xce", CloseNormal, "", ErrInvalidCloseReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, reason, err := ParseClose([]byte(tt.payload))
			if code != tt.code || reason != tt.reason || err != tt.err {
				t.Errorf("got %d, %q, %v, want %d, %q, %v", code, reason, err, tt.code, tt.reason, tt.err)
			}
		})
	}
	for _, tt := range closeCodes {
		_, _, err := ParseClose([]byte{byte(tt.code >> 8), byte(tt.code)})
		if (err == nil) != tt.valid {
			t.Errorf("code %d: got %v, want valid %v", tt.code, err, tt.valid)
		}
	}
}

func TestAppendClose(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes, two per rune
	tests := []struct {
		name   string
		code   CloseCode
		reason string
		want   string
	}{
		{"no status", CloseNoStatus, "ignored", ""},
		{"zero", 0, "", ""},
		{"code only", CloseNormal, "", "\x03\xe8"},
		{"reason", CloseGoingAway, "bye", "\x03\xe9bye"},
		{"123 bytes fit", CloseNormal, strings.Repeat("x", 123), "\x03\xe8" + strings.Repeat("x", 123)},
		{"124 bytes cut", CloseNormal, strings.Repeat("x", 124), "\x03\xe8" + strings.Repeat("x", 123)},
		{"cut at a rune boundary", CloseNormal, long, "\x03\xe8" + long[:122]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendClose([]byte("prefix"), tt.code, tt.reason)
			if string(got) != "prefix"+tt.want {
				t.Fatalf("got %q, want %q", got, "prefix"+tt.want)
			}
			p := got[len("prefix"):]
			if len(p) > MaxControlPayload || !utf8.Valid(p[min(2, len(p)):]) {
				t.Errorf("got a payload of %d bytes that ParseClose would refuse", len(p))
			}
		})
	}
}

// AppendClose and ParseClose agree on every valid code.
func TestCloseRoundTrip(t *testing.T) {
	for _, tt := range closeCodes {
		if !tt.valid {
			continue
		}
		code, reason, err := ParseClose(AppendClose(nil, tt.code, "reason"))
		if code != tt.code || reason != "reason" || err != nil {
			t.Errorf("got %d, %q, %v, want %d, %q, nil", code, reason, err, tt.code, "reason")
		}
	}
}

func TestCloseCodeOf(t *testing.T) {
	tests := []struct {
		err  error
		want CloseCode
	}{
		{nil, 0},
		{io.EOF, 0},
		{ErrUnmaskedFrame, CloseProtocolError},
		{ErrInvalidUTF8, CloseInvalidPayload},
		{ErrInvalidCloseReason, CloseInvalidPayload},
		{ErrMessageTooBig, CloseMessageTooBig},
		{fmt.Errorf("tunnel: read from 10.0.0.1: %w", ErrReservedOpcode), CloseProtocolError},
		{errors.Join(io.EOF, ErrMessageTooBig), CloseMessageTooBig},
	}
	for _, tt := range tests {
		if got := CloseCodeOf(tt.err); got != tt.want {
			t.Errorf("%v: got %d, want %d", tt.err, got, tt.want)
		}
		if got := IsProtocolError(tt.err); got != (tt.want != 0) {
			t.Errorf("IsProtocolError(%v): got %v, want %v", tt.err, got, tt.want != 0)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	for _, err := range []*Error{ErrUnmaskedFrame, ErrMaskedFrame, ErrReservedBits, ErrReservedOpcode,
		ErrControlTooLong, ErrControlFragmented, ErrOrphanContinuation, ErrUnfinishedMessage,
		ErrLengthOverflow, ErrClosePayloadLen, ErrCloseCode, ErrInvalidUTF8, ErrInvalidCloseReason,
		ErrMessageTooBig} {
		if msg := err.Error(); !strings.HasPrefix(msg, "frames: ") || msg == "frames: " {
			t.Errorf("got %q, want \"frames: \" and a description", msg)
		}
		if !err.Code.ValidOnWire() {
			t.Errorf("%v: got code %d, which may not be sent", err, err.Code)
		}
	}
	if got := CloseCode(1000).String(); got != "1000" {
		t.Errorf("got %q, want %q", got, "1000")
	}
}
