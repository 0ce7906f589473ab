package testpeer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SSHDWithUser is SSHD that also lets root log in with a fresh user key:
// it returns the server's address and the private key's file, for
// `ssh -i KEY root@...`. The key is authorized through sshd_config's
// AuthorizedKeysFile, so nothing in the real ~/.ssh is touched.
func SSHDWithUser(t testing.TB) (addr, keyFile string) {
	t.Helper()
	keygen := Need(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	keyFile = filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "wsbridge-test", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	authorized := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(authorized, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("AuthorizedKeysFile %s\nPermitRootLogin prohibit-password\nPubkeyAuthentication yes\n", authorized)
	return startSSHD(t, conf), keyFile
}
