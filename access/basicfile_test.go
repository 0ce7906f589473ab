package access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// hash returns a cheap bcrypt hash of pass with the given version prefix.
func hash(t testing.TB, pass, prefix string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + strings.TrimPrefix(string(h), "$2a$")
}

func TestBasicHTTPAuthFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "htpasswd")
	content := "# users of the bridge\r\n\r\n" +
		"alice:" + hash(t, "s3cret:with:colons", "$2y$") + "\r\n" +
		"  bob:" + hash(t, "hunter2", "$2b$") + "  \n" +
		"carol:" + hash(t, "x", "$2a$") + "\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := NewAuth("BasicHTTPAuthFile", file)
	if err != nil {
		t.Fatal(err)
	}
	runBasicCases(t, a)

	for _, tt := range []struct {
		user, pass string
		wantStatus int
	}{
		{"bob", "hunter2", 0},
		{"carol", "x", 0},
		{"bob", "s3cret:with:colons", 401},
		{"dave", "hunter2", 401},
		{"bob", "hunter2" + strings.Repeat("x", 80), 401},
	} {
		r := newRequestWithAuth(tt.user, tt.pass)
		if status, _ := authStatus(t, a, r); status != tt.wantStatus {
			t.Errorf("%s/%s: got status %d, want %d", tt.user, tt.pass, status, tt.wantStatus)
		}
	}
}

func TestParseHtpasswdErrors(t *testing.T) {
	good := hash(t, "pw", "$2y$")
	tests := []struct {
		name, content, wantErr string
	}{
		{"no colon", "# c\nalice\n", "users:2: want user:bcrypt-hash"},
		{"empty user", ":" + good + "\n", "users:1: want user:bcrypt-hash"},
		{"md5", "alice:" + good + "\nbob:$apr1$abc$def\n", `users:2: user "bob": not a bcrypt hash`},
		{"sha", "bob:{SHA}abc=\n", `users:1: user "bob": not a bcrypt hash`},
		{"plain", "bob:secret\n", `users:1: user "bob": not a bcrypt hash`},
		{"truncated bcrypt", "\n\nbob:$2y$05$short\n", `users:3: user "bob": crypto/bcrypt`},
		{"bad cost", "bob:$2y$99$" + strings.Repeat("a", 53) + "\n", `users:1: user "bob"`},
		{"duplicate", "bob:" + good + "\n#x\nbob:" + good + "\n", `users:3: user "bob" already on line 1`},
		{"empty", "# nobody\n\n", "users: no users"},
		{"long line", "bob:" + strings.Repeat("a", 70000), "users: bufio.Scanner: token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseHtpasswd("users", strings.NewReader(tt.content))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "access: ") {
				t.Errorf("got %q, want the access: prefix", err)
			}
		})
	}
}
