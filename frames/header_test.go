package frames

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestHeaderRoundTrip(t *testing.T) {
	lengths := []int64{0, 1, 125, 126, 127, 0xFFFF, 0x10000, 0x10001, 1 << 40, 1<<63 - 1}
	var buf [MaxHeaderLen]byte
	for _, length := range lengths {
		for _, masked := range []bool{false, true} {
			h := Header{Fin: length%2 == 0, Rsv: byte(length) & 7, Op: OpBinary, Masked: masked, Length: length}
			if masked {
				h.Mask = testKey
			}
			n := PutHeader(buf[:], h)
			if n != HeaderLen(h) {
				t.Errorf("length %d masked %v: PutHeader wrote %d bytes, HeaderLen says %d", length, masked, n, HeaderLen(h))
			}
			got, err := ReadHeader(iotest.OneByteReader(bytes.NewReader(buf[:n])), new([MaxHeaderLen]byte))
			if err != nil {
				t.Fatalf("length %d masked %v: got error %v", length, masked, err)
			}
			if got != h {
				t.Errorf("got %+v, want %+v", got, h)
			}
		}
	}
}

// RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the
// length".
func TestPutHeaderMinimalLength(t *testing.T) {
	tests := []struct {
		length int64
		want   []byte // first bytes after the opcode byte
	}{
		{0, []byte{0}},
		{125, []byte{125}},
		{126, []byte{126, 0, 126}},
		{0xFFFF, []byte{126, 0xFF, 0xFF}},
		{0x10000, []byte{127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tt := range tests {
		var buf [MaxHeaderLen]byte
		n := PutHeader(buf[:], Header{Fin: true, Op: OpBinary, Length: tt.length})
		if got := buf[1:n]; !bytes.Equal(got, tt.want) {
			t.Errorf("length %d: got % x, want % x", tt.length, got, tt.want)
		}
	}
}

func TestPutHeaderFirstByte(t *testing.T) {
	tests := []struct {
		h    Header
		want byte
	}{
		{Header{Fin: true, Op: OpText}, 0x81},
		{Header{Op: OpText}, 0x01},
		{Header{Fin: true, Op: OpContinuation}, 0x80},
		{Header{Fin: true, Op: OpClose}, 0x88},
		{Header{Fin: true, Rsv: Rsv1, Op: OpBinary}, 0xC2},
		{Header{Fin: true, Rsv: Rsv2, Op: OpBinary}, 0xA2},
		{Header{Fin: true, Rsv: Rsv3, Op: OpBinary}, 0x92},
		{Header{Rsv: 7, Op: 0xF}, 0x7F},
	}
	for _, tt := range tests {
		var buf [MaxHeaderLen]byte
		PutHeader(buf[:], tt.h)
		if buf[0] != tt.want {
			t.Errorf("%+v: got %#02x, want %#02x", tt.h, buf[0], tt.want)
		}
	}
}

// A stream that ends before a header is a clean end (io.EOF); one that
// ends inside a header is truncated (io.ErrUnexpectedEOF).
func TestReadHeaderTruncated(t *testing.T) {
	full := make([]byte, MaxHeaderLen)
	PutHeader(full, Header{Fin: true, Op: OpBinary, Masked: true, Mask: testKey, Length: 1 << 20})
	for n := 0; n < MaxHeaderLen; n++ {
		want := io.ErrUnexpectedEOF
		if n == 0 {
			want = io.EOF
		}
		_, err := ReadHeader(iotest.OneByteReader(bytes.NewReader(full[:n])), new([MaxHeaderLen]byte))
		if err != want {
			t.Errorf("%d of %d header bytes: got %v, want %v", n, MaxHeaderLen, err, want)
		}
	}
}

func TestReadHeaderPassesReadErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadHeader(iotest.ErrReader(boom), new([MaxHeaderLen]byte))
	if err != boom {
		t.Errorf("got %v, want %v", err, boom)
	}
	_, err = ReadHeader(io.MultiReader(bytes.NewReader([]byte{0x82, 0xFE}), iotest.ErrReader(boom)), new([MaxHeaderLen]byte))
	if err != boom {
		t.Errorf("inside the extended length: got %v, want %v", err, boom)
	}
}

// RFC 6455 §5.2: in a 64-bit length "the most significant bit MUST be 0".
func TestReadHeaderLengthTopBit(t *testing.T) {
	for _, first := range []byte{0x80, 0xFF} {
		in := []byte{0x82, 0xFF, first, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}
		_, err := ReadHeader(bytes.NewReader(in), new([MaxHeaderLen]byte))
		checkErr(t, err, ErrLengthOverflow, CloseProtocolError)
	}
	in := []byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}
	h, err := ReadHeader(bytes.NewReader(in), new([MaxHeaderLen]byte))
	if err != nil || h.Length != 1<<63-1 {
		t.Errorf("largest length: got %d, %v, want %d, nil", h.Length, err, int64(1<<63-1))
	}
}

// Receivers need not insist on the minimal length encoding; a 16-bit or
// 64-bit field holding a small length is read as that length.
func TestReadHeaderNonMinimalLength(t *testing.T) {
	tests := []struct {
		in   []byte
		want int64
	}{
		{[]byte{0x82, 126, 0, 5}, 5},
		{[]byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0, 5}, 5},
		{[]byte{0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 0xFFFF},
	}
	for _, tt := range tests {
		h, err := ReadHeader(bytes.NewReader(tt.in), new([MaxHeaderLen]byte))
		if err != nil || h.Length != tt.want {
			t.Errorf("% x: got length %d, %v, want %d, nil", tt.in, h.Length, err, tt.want)
		}
	}
}

// ReadHeader reads exactly the header and leaves the payload in the stream.
func TestReadHeaderReadsOnlyHeader(t *testing.T) {
	f := cframe(true, OpText, "payload")
	r := bytes.NewReader(f)
	h, err := ReadHeader(r, new([MaxHeaderLen]byte))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Len(), int(h.Length); got != want {
		t.Errorf("got %d bytes left in the stream, want %d", got, want)
	}
}

func TestOpcode(t *testing.T) {
	tests := []struct {
		op                Opcode
		control, reserved bool
		name              string
	}{
		{OpContinuation, false, false, "continuation"},
		{OpText, false, false, "text"},
		{OpBinary, false, false, "binary"},
		{3, false, true, "opcode(3)"},
		{7, false, true, "opcode(7)"},
		{OpClose, true, false, "close"},
		{OpPing, true, false, "ping"},
		{OpPong, true, false, "pong"},
		{0xB, true, true, "opcode(11)"},
		{0xF, true, true, "opcode(15)"},
	}
	for _, tt := range tests {
		if got := tt.op.IsControl(); got != tt.control {
			t.Errorf("%v.IsControl(): got %v, want %v", tt.op, got, tt.control)
		}
		if got := tt.op.IsReserved(); got != tt.reserved {
			t.Errorf("%v.IsReserved(): got %v, want %v", tt.op, got, tt.reserved)
		}
		if got := tt.op.String(); got != tt.name {
			t.Errorf("String(): got %q, want %q", got, tt.name)
		}
	}
}

func TestRoleString(t *testing.T) {
	if got := RoleServer.String(); got != "server" {
		t.Errorf("got %q, want %q", got, "server")
	}
	if got := RoleClient.String(); got != "client" {
		t.Errorf("got %q, want %q", got, "client")
	}
}

// TestPeekHeaderLen checks the length read from a header's first two
// bytes against HeaderLen, at every length encoding, masked or not.
func TestPeekHeaderLen(t *testing.T) {
	for _, length := range []int64{0, 125, 126, 65535, 65536, 1 << 40} {
		for _, masked := range []bool{false, true} {
			h := Header{Fin: true, Op: OpBinary, Masked: masked, Length: length}
			var b [MaxHeaderLen]byte
			n := PutHeader(b[:], h)
			if got := PeekHeaderLen(b[:n]); got != n {
				t.Errorf("length %d masked %v: got %d, want %d", length, masked, got, n)
			}
			if got := PeekHeaderLen(b[:1]); got != 0 {
				t.Errorf("length %d masked %v, one byte: got %d, want 0", length, masked, got)
			}
		}
	}
}
