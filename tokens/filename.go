package tokens

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxTargetFile caps what TokenFileName reads of a file: a target is one
// short line.
const maxTargetFile = 4 << 10

// fileNameSource is the TokenFileName plugin: the token names a file in a
// directory, holding the target.
type fileNameSource struct {
	dir string // absolute
}

var _ Source = (*fileNameSource)(nil)

// newFileNameSource checks that dir is a directory.
func newFileNameSource(dir string) (*fileNameSource, error) {
	abs, err := absDir(PluginTokenFileName, dir)
	if err != nil {
		return nil, err
	}
	return &fileNameSource{dir: abs}, nil
}

// Lookup reads DIR/token, which must be a regular file inside DIR (symlinks
// are followed only while they stay inside DIR), and parses its stripped
// content as host:port, [v6]:port or unix_socket:PATH. Any reason the file
// cannot be found is ErrNotFound; a file with a bad target is another error.
func (s *fileNameSource) Lookup(_ context.Context, token string) (Target, error) {
	if err := checkLocalName(token); err != nil {
		return Target{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return Target{}, fmt.Errorf("tokens: TokenFileName %s: %w", s.dir, err)
	}
	defer root.Close()
	// Stat first: opening a FIFO would block. Whoever can write to DIR can
	// still swap the file between the two calls; DIR must be trusted.
	fi, err := root.Stat(token)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %w", ErrNotFound, withoutPath(err))
	}
	if !fi.Mode().IsRegular() {
		return Target{}, fmt.Errorf("%w: not a regular file", ErrNotFound)
	}
	f, err := root.Open(token)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %w", ErrNotFound, withoutPath(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTargetFile+1))
	if err != nil {
		return Target{}, fmt.Errorf("tokens: TokenFileName: a file in %s: %w", s.dir, err)
	}
	if len(data) > maxTargetFile {
		return Target{}, fmt.Errorf("tokens: TokenFileName: a file in %s is over %d bytes", s.dir, maxTargetFile)
	}
	t, err := parseTarget(strings.TrimFunc(string(data), isPySpace))
	if err != nil {
		// The token (the file name) stays out of the message.
		return Target{}, fmt.Errorf("tokens: TokenFileName: a file in %s: bad target: %w", s.dir, err)
	}
	return t, nil
}

// Close does nothing: the source holds no resources.
func (s *fileNameSource) Close() error { return nil }
