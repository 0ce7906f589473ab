package tokens

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// shortTempDir returns a fresh directory with a short path: unix socket
// paths must fit in 108 bytes, which t.TempDir's long names can exceed.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// listenUnix creates a unix socket at path, closed at cleanup.
func listenUnix(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
}

func mkdir(t *testing.T, path string) string {
	t.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func symlink(t *testing.T, oldname, newname string) {
	t.Helper()
	if err := os.Symlink(oldname, newname); err != nil {
		t.Fatal(err)
	}
}

// escapeTokens are tokens that try to leave DIR ("socks", beside "socks2"
// and "outside" in base); none may resolve.
func escapeTokens(base string) []string {
	return []string{
		"", ".", "..", "../x", "a/../../x", "../socks2/x", "../socks/vm1", "./vm1", "sub/../vm1",
		filepath.Join(base, "socks", "vm1"), filepath.Join(base, "outside", "o"),
		"vm1\x00", "\x00", "..\\x", "vm1/", "linkout", "sub", "missing-token-xyz",
	}
}

// TestUnixDomainSocketDirectory: only sockets named by one local name, not
// symlinks, resolve.
func TestUnixDomainSocketDirectory(t *testing.T) {
	base := shortTempDir(t)
	dir := mkdir(t, filepath.Join(base, "socks"))
	mkdir(t, filepath.Join(base, "socks2"))
	mkdir(t, filepath.Join(base, "outside"))
	mkdir(t, filepath.Join(dir, "sub"))
	listenUnix(t, filepath.Join(dir, "vm1"))
	listenUnix(t, filepath.Join(dir, "sp ace"))
	listenUnix(t, filepath.Join(base, "socks2", "x"))
	listenUnix(t, filepath.Join(base, "outside", "o"))
	writeFile(t, dir, "file", "h:1\n")
	symlink(t, filepath.Join(base, "outside", "o"), filepath.Join(dir, "linkout"))
	symlink(t, filepath.Join(dir, "vm1"), filepath.Join(dir, "linkin"))
	symlink(t, "vm1", filepath.Join(dir, "linkrel"))

	s, _ := newTestSource(t, "UnixDomainSocketDirectory", dir, Options{})
	for _, tok := range []string{"vm1", "sp ace"} {
		if got, want := mustLookup(t, s, tok), unix(filepath.Join(dir, tok)); got != want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tok, got, want)
		}
	}
	refused := append(escapeTokens(base), "file", "linkin", "linkrel")
	for _, tok := range refused {
		t.Run(strings.ReplaceAll(tok, "/", "|"), func(t *testing.T) {
			got, err := s.Lookup(context.Background(), tok)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("got %+v, %v; want ErrNotFound", got, err)
			}
			if len(tok) > 4 && strings.Contains(err.Error(), tok) {
				t.Errorf("error %q repeats the token", err)
			}
		})
	}

	// A relative source is made absolute at New.
	t.Chdir(base)
	rel, _ := newTestSource(t, "UnixDomainSocketDirectory", "socks", Options{})
	if got, want := mustLookup(t, rel, "vm1"), unix(filepath.Join(dir, "vm1")); got != want {
		t.Errorf("relative source: Lookup(vm1) = %+v, want %+v", got, want)
	}
}

// TestTokenFileName: the token names a file in DIR holding the target.
func TestTokenFileName(t *testing.T) {
	base := shortTempDir(t)
	dir := mkdir(t, filepath.Join(base, "socks"))
	mkdir(t, filepath.Join(base, "socks2"))
	mkdir(t, filepath.Join(base, "outside"))
	mkdir(t, filepath.Join(dir, "sub"))
	writeFile(t, dir, "vm1", "  10.0.0.1:5900\n")
	writeFile(t, dir, "v6", "[::1]:5900")
	writeFile(t, dir, "v6bare", "::1:5901\n")
	writeFile(t, dir, "sock", "unix_socket:/run/x.sock\n")
	writeFile(t, dir, "bad", "nope\n")
	writeFile(t, dir, "big", strings.Repeat("x", maxTargetFile+1))
	writeFile(t, filepath.Join(base, "socks2"), "x", "sibling:1\n")
	writeFile(t, filepath.Join(base, "outside"), "o", "outside:1\n")
	symlink(t, filepath.Join(base, "outside", "o"), filepath.Join(dir, "linkout"))
	symlink(t, "vm1", filepath.Join(dir, "linkin"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	s, _ := newTestSource(t, "TokenFileName", dir, Options{})
	for _, tt := range []struct {
		token string
		want  Target
	}{
		{"vm1", tcp("10.0.0.1:5900")},
		{"v6", tcp("[::1]:5900")},
		{"v6bare", tcp("[::1]:5901")},
		{"sock", unix("/run/x.sock")},
		{"linkin", tcp("10.0.0.1:5900")}, // a symlink staying inside DIR is followed
	} {
		if got := mustLookup(t, s, tt.token); got != tt.want {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.token, got, tt.want)
		}
	}
	for _, tok := range append(escapeTokens(base), "fifo") {
		t.Run(strings.ReplaceAll(tok, "/", "|"), func(t *testing.T) {
			got, err := s.Lookup(context.Background(), tok)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("got %+v, %v; want ErrNotFound", got, err)
			}
			if len(tok) > 4 && strings.Contains(err.Error(), tok) {
				t.Errorf("error %q repeats the token", err)
			}
		})
	}
	for _, tok := range []string{"bad", "big"} {
		got, err := s.Lookup(context.Background(), tok)
		if err == nil || errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "tokens: TokenFileName: ") {
			t.Errorf("Lookup(%q) = %+v, %v; want a TokenFileName error that is not ErrNotFound", tok, got, err)
		}
	}
}

func mustLookup(t *testing.T, s Source, token string) Target {
	t.Helper()
	got, err := s.Lookup(context.Background(), token)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", token, err)
	}
	return got
}
