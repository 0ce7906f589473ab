package main

import (
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"wsbridge/frames"
	"wsbridge/internal/testpeer"
)

// TestSSHOverWebSocket is the WebSocket side of the README's
// SSH-in-the-browser setup: a browser SSH client speaks the SSH protocol
// over a binary WebSocket to wsbridge, which carries it to a real sshd.
// The test plays the client's first steps: it reads sshd's version line,
// sends its own, and reads sshd's KEXINIT packet through the bridge.
func TestSSHOverWebSocket(t *testing.T) {
	t.Parallel()
	sshd := testpeer.SSHD(t)
	b := startBridge(t, "127.0.0.1:0", sshd)
	s := b.upgrade(t, wsReq{})

	banner, err := s.br.ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-OpenSSH") {
		t.Fatalf("sshd banner through the bridge: got %q %v, want SSH-2.0-OpenSSH...", banner, err)
	}
	if err := s.wr.WriteMessage(frames.OpBinary, []byte("SSH-2.0-wsbridge_test\r\n")); err != nil {
		t.Fatal(err)
	}
	// RFC 4253 §6: uint32 packet_length, byte padding_length, payload
	// whose first byte is the message number, 20 for SSH_MSG_KEXINIT.
	var hdr [6]byte
	if _, err := io.ReadFull(s.br, hdr[:]); err != nil {
		t.Fatalf("sshd's first packet: %v", err)
	}
	if n := binary.BigEndian.Uint32(hdr[:4]); n < 16 || n > 35000 {
		t.Fatalf("packet length %d, want an SSH packet", n)
	}
	if hdr[5] != 20 {
		t.Errorf("first message number %d, want 20 (SSH_MSG_KEXINIT)", hdr[5])
	}
}
