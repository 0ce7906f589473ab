package access

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// maxBcryptPassword is bcrypt's input limit; longer passwords would be
// silently truncated, so they are refused instead.
const maxBcryptPassword = 72

// loadBasicAuthFile builds BasicHTTPAuthFile from the htpasswd-style file at
// path. See parseHtpasswd for the format. The file is read once: a changed
// file takes effect when the plugin is built again (a restart).
func loadBasicAuthFile(path string) (*basicAuth, error) {
	if path == "" {
		return nil, errors.New("access: BasicHTTPAuthFile needs --auth-source FILE")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("access: BasicHTTPAuthFile: %w", err)
	}
	defer f.Close()
	users, err := parseHtpasswd(path, f)
	if err != nil {
		return nil, err
	}
	return &basicAuth{check: users.check}, nil
}

// htpasswd maps users to bcrypt hashes.
type htpasswd struct {
	hashes map[string][]byte
	// decoy is a real hash from the file, compared against for unknown
	// users so that they take as long as known ones (no user enumeration
	// by timing); its result is thrown away.
	decoy []byte
}

// check reports whether pass is user's password.
func (h *htpasswd) check(user, pass []byte) bool {
	if len(pass) > maxBcryptPassword {
		return false
	}
	hash, ok := h.hashes[string(user)]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(h.decoy, pass)
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, pass) == nil
}

// parseHtpasswd reads "user:hash" lines, as `htpasswd -B` writes them.
// Leading and trailing spaces are trimmed; blank lines and lines starting
// with # are skipped. Every hash must be bcrypt ($2a$, $2b$ or $2y$); any
// other line, a duplicate user, or a file with no users is an error naming
// name:line.
func parseHtpasswd(name string, r io.Reader) (*htpasswd, error) {
	h := &htpasswd{hashes: make(map[string][]byte)}
	firstLine := make(map[string]int)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		switch {
		case !ok || user == "":
			return nil, fmt.Errorf("access: %s:%d: want user:bcrypt-hash", name, n)
		case !isBcrypt(hash):
			return nil, fmt.Errorf("access: %s:%d: user %q: not a bcrypt hash ($2a$, $2b$ or $2y$; make one with htpasswd -B)", name, n, user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("access: %s:%d: user %q: %w", name, n, user, err)
		}
		if prev, dup := firstLine[user]; dup {
			return nil, fmt.Errorf("access: %s:%d: user %q already on line %d", name, n, user, prev)
		}
		firstLine[user] = n
		h.hashes[user] = []byte(hash)
		if h.decoy == nil {
			h.decoy = []byte(hash)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("access: %s: %w", name, err)
	}
	if len(h.hashes) == 0 {
		return nil, fmt.Errorf("access: %s: no users", name)
	}
	return h, nil
}

// isBcrypt reports whether hash has a bcrypt prefix htpasswd writes.
func isBcrypt(hash string) bool {
	for _, p := range []string{"$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(hash, p) {
			return true
		}
	}
	return false
}
