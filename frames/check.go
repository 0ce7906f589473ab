package frames

// Role is the side of the connection a Reader or Writer serves.
type Role uint8

// The two roles. They differ in masking: RFC 6455 §5.1 has clients mask
// every frame and servers mask none.
const (
	RoleServer Role = iota
	RoleClient
)

// String returns "server" or "client".
func (r Role) String() string {
	if r == RoleClient {
		return "client"
	}
	return "server"
}

// Check validates a single header read by an endpoint in the given role.
// allowedRsv holds the RSV bits that a negotiated extension gives meaning
// to (0 when none was negotiated). Rules that span frames (continuations,
// message size) are the Reader's.
func Check(h Header, role Role, allowedRsv byte) error {
	// §5.1: "a server MUST close the connection upon receiving a frame that
	// is not masked" and "a client MUST close a connection if it detects a
	// masked frame".
	if role == RoleServer && !h.Masked {
		return ErrUnmaskedFrame
	}
	if role == RoleClient && h.Masked {
		return ErrMaskedFrame
	}
	// §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that
	// defines meanings for non-zero values".
	if h.Rsv&^allowedRsv != 0 {
		return ErrReservedBits
	}
	// §5.2: "If an unknown opcode is received, the receiving endpoint MUST
	// _Fail the WebSocket Connection_."
	if h.Op.IsReserved() {
		return ErrReservedOpcode
	}
	if h.Op.IsControl() {
		// §5.5: "All control frames MUST have a payload length of 125
		// bytes or less and MUST NOT be fragmented."
		if h.Length > MaxControlPayload {
			return ErrControlTooLong
		}
		if !h.Fin {
			return ErrControlFragmented
		}
		// §5.5.1: a Close body is empty or at least a 2-byte code.
		if h.Op == OpClose && h.Length == 1 {
			return ErrClosePayloadLen
		}
	}
	return nil
}
