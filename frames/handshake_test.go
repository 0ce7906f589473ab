package frames

import "testing"

// RFC 6455 §1.3 and §4.2.2: the sample key and its accept value.
func TestAcceptKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="}, // RFC 6455 §1.2
	}
	for _, tt := range tests {
		if got := AcceptKey(tt.key); got != tt.want {
			t.Errorf("AcceptKey(%q): got %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"dGhlIHNhbXBsZSBub25jZQ==", true},
		{"AAAAAAAAAAAAAAAAAAAAAA==", true},
		{"", false},
		{"dGhlIHNhbXBsZSBub25jZQ", false},     // padding missing
		{"dGhlIHNhbXBsZSBub25jZQ===", false},  // too long
		{"dGhlIHNhbXBsZSBub25jZQ!=", false},   // not base64
		{"dGhlIHNhbXBsZSBub25jZXh5", false},   // 18 bytes
		{"dGhlIHNhbXBsZSBub25jZX==", true},    // stray low bits: still 16 bytes
		{"dGhlIHNhbXBsZSBub25j ZQ=", false},   // space
		{"dGhlIHNhbXBsZSBub25jZQ==\n", false}, // trailing newline
	}
	for _, tt := range tests {
		if got := CheckKey(tt.key); got != tt.want {
			t.Errorf("CheckKey(%q): got %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestNewKey(t *testing.T) {
	key := NewKey([16]byte{'t', 'h', 'e', ' ', 's', 'a', 'm', 'p', 'l', 'e', ' ', 'n', 'o', 'n', 'c', 'e'})
	if key != "dGhlIHNhbXBsZSBub25jZQ==" {
		t.Errorf("got %q, want %q", key, "dGhlIHNhbXBsZSBub25jZQ==")
	}
	if !CheckKey(key) {
		t.Errorf("CheckKey(NewKey(...)) = false for %q", key)
	}
}
