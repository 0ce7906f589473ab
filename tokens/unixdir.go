package tokens

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// unixDirSource is the UnixDomainSocketDirectory plugin: the token names a
// unix socket in a directory.
type unixDirSource struct {
	dir string // absolute
}

var _ Source = (*unixDirSource)(nil)

// newUnixDirSource checks that dir is a directory.
func newUnixDirSource(dir string) (*unixDirSource, error) {
	abs, err := absDir(PluginUnixDomainSocketDirectory, dir)
	if err != nil {
		return nil, err
	}
	return &unixDirSource{dir: abs}, nil
}

// Lookup returns the unix target DIR/token if token is one local name and
// that entry, not followed if it is a symlink, is a socket. Symlinks are
// refused even when they point inside DIR: the dial that follows resolves
// the path again, and a link is the easy way to make it lead elsewhere.
func (s *unixDirSource) Lookup(_ context.Context, token string) (Target, error) {
	if err := checkLocalName(token); err != nil {
		return Target{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return Target{}, fmt.Errorf("tokens: UnixDomainSocketDirectory %s: %w", s.dir, err)
	}
	defer root.Close()
	fi, err := root.Lstat(token)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %w", ErrNotFound, withoutPath(err))
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return Target{}, fmt.Errorf("%w: %w", ErrNotFound, errNotSocket)
	}
	return Target{Network: "unix", Addr: filepath.Join(s.dir, token)}, nil
}

// Close does nothing: the source holds no resources.
func (s *unixDirSource) Close() error { return nil }
