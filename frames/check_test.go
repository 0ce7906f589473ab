package frames

import "testing"

func TestCheck(t *testing.T) {
	masked := func(h Header) Header { h.Masked, h.Mask = true, testKey; return h }
	tests := []struct {
		name    string
		h       Header
		role    Role
		allowed byte
		want    error
	}{
		{"server reads masked text", masked(Header{Fin: true, Op: OpText, Length: 5}), RoleServer, 0, nil},
		{"client reads unmasked binary", Header{Fin: true, Op: OpBinary, Length: 1 << 40}, RoleClient, 0, nil},
		{"server reads unmasked", Header{Fin: true, Op: OpText}, RoleServer, 0, ErrUnmaskedFrame},
		{"client reads masked", masked(Header{Fin: true, Op: OpText}), RoleClient, 0, ErrMaskedFrame},
		{"RSV1", masked(Header{Fin: true, Rsv: Rsv1, Op: OpText}), RoleServer, 0, ErrReservedBits},
		{"RSV2", masked(Header{Fin: true, Rsv: Rsv2, Op: OpText}), RoleServer, 0, ErrReservedBits},
		{"RSV3", masked(Header{Fin: true, Rsv: Rsv3, Op: OpText}), RoleServer, 0, ErrReservedBits},
		{"RSV1 allowed", masked(Header{Fin: true, Rsv: Rsv1, Op: OpText}), RoleServer, Rsv1, nil},
		{"RSV2 with only RSV1 allowed", masked(Header{Fin: true, Rsv: Rsv1 | Rsv2, Op: OpText}), RoleServer, Rsv1, ErrReservedBits},
		{"opcode 3", masked(Header{Fin: true, Op: 3}), RoleServer, 0, ErrReservedOpcode},
		{"opcode 7", masked(Header{Fin: true, Op: 7}), RoleServer, 0, ErrReservedOpcode},
		{"opcode 11", masked(Header{Fin: true, Op: 0xB}), RoleServer, 0, ErrReservedOpcode},
		{"opcode 15", masked(Header{Fin: true, Op: 0xF}), RoleServer, 0, ErrReservedOpcode},
		{"ping 125", masked(Header{Fin: true, Op: OpPing, Length: 125}), RoleServer, 0, nil},
		{"ping 126", masked(Header{Fin: true, Op: OpPing, Length: 126}), RoleServer, 0, ErrControlTooLong},
		{"pong 2^40", Header{Fin: true, Op: OpPong, Length: 1 << 40}, RoleClient, 0, ErrControlTooLong},
		{"fragmented ping", masked(Header{Op: OpPing}), RoleServer, 0, ErrControlFragmented},
		{"fragmented close", Header{Op: OpClose, Length: 2}, RoleClient, 0, ErrControlFragmented},
		{"close 0 bytes", masked(Header{Fin: true, Op: OpClose}), RoleServer, 0, nil},
		{"close 1 byte", masked(Header{Fin: true, Op: OpClose, Length: 1}), RoleServer, 0, ErrClosePayloadLen},
		{"close 2 bytes", masked(Header{Fin: true, Op: OpClose, Length: 2}), RoleServer, 0, nil},
		{"continuation", masked(Header{Op: OpContinuation, Length: 3}), RoleServer, 0, nil},
		{"huge unfinished text", masked(Header{Op: OpText, Length: 1<<63 - 1}), RoleServer, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Check(tt.h, tt.role, tt.allowed); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// Check against the rules restated independently, over every combination
// of the header's bits and the lengths around the control limits.
func TestCheckExhaustive(t *testing.T) {
	for _, role := range []Role{RoleServer, RoleClient} {
		for bits := range 1 << 9 { // fin, rsv (3), masked, op (4)
			for _, length := range []int64{0, 1, 2, 125, 126, 1 << 20} {
				h := Header{
					Fin:    bits&1 != 0,
					Rsv:    byte(bits>>1) & 7,
					Masked: bits&(1<<4) != 0,
					Op:     Opcode(bits >> 5),
					Length: length,
				}
				known := h.Op <= OpBinary || (h.Op >= OpClose && h.Op <= OpPong)
				control := h.Op >= OpClose
				ok := h.Masked == (role == RoleServer) && h.Rsv == 0 && known &&
					(!control || (h.Fin && length <= 125 && !(h.Op == OpClose && length == 1)))
				err := Check(h, role, 0)
				if (err == nil) != ok {
					t.Fatalf("%v %+v: got %v, want ok=%v", role, h, err, ok)
				}
				if err != nil && CloseCodeOf(err) != CloseProtocolError {
					t.Fatalf("%v %+v: got close code %d, want 1002", role, h, CloseCodeOf(err))
				}
			}
		}
	}
}
