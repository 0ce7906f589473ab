package testpeer

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// SSHD starts a throwaway OpenSSH server on loopback with its own host
// key and returns its address once it listens. It needs root (for the
// privilege separation directory) and Debian's openssh-server.
func SSHD(t testing.TB) string {
	t.Helper()
	return startSSHD(t, "")
}

// startSSHD is SSHD with extra lines appended to sshd_config.
func startSSHD(t testing.TB, extraConf string) string {
	t.Helper()
	sshd := Need(t, "sshd", "openssh-server")
	keygen := Need(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	key := filepath.Join(dir, "host_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Skipf("sshd needs /run/sshd: %v", err)
	}
	port := FreePort(t)
	conf := filepath.Join(dir, "sshd_config")
	os.WriteFile(conf, []byte(fmt.Sprintf("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile none\nUsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n%s", port, key, extraConf)), 0o600)
	p := Start(t, sshd, "-D", "-e", "-f", conf)
	if !p.Output.WaitFor("Server listening on 127.0.0.1 port "+strconv.Itoa(port), 10*time.Second) {
		t.Fatalf("sshd did not start:\n%s", p.Output.String())
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
