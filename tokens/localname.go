package tokens

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// checkLocalName refuses a token that is not exactly one file name inside a
// directory: empty, ".", "..", or containing '/', '\\' or NUL. websockify's
// TokenFileName reduces "a/b" to "b" and its UnixDomainSocketDirectory only
// checks a string prefix (so "../socks2/x" passes for DIR "socks"); both
// are refused here. Symlinks are dealt with by os.Root at the lookup.
func checkLocalName(token string) error {
	switch {
	case token == "":
		return errors.New("empty token")
	case token == "." || token == "..":
		return errors.New(`token is "." or ".."`)
	case strings.ContainsAny(token, "/\\\x00"):
		return errors.New(`token contains '/', '\' or NUL`)
	case !filepath.IsLocal(token):
		return errors.New("token is not a local file name") // reserved names on Windows
	}
	return nil
}

// withoutPath returns the cause of a *fs.PathError: where the path is the
// token, a secret callers may log; elsewhere, a repeat of the path that the
// message already names.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// absDir returns dir made absolute, after checking that it is a directory.
func absDir(plugin, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("tokens: %s: %w", plugin, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("tokens: %s: %w", plugin, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("tokens: %s: %s is not a directory", plugin, abs)
	}
	return abs, nil
}
