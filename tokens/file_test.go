package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTokenFileSingle loads one file through New and checks lookups and the
// log of a broken line.
func TestTokenFileSingle(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "tokens.cfg", `# comment
vm1: 10.0.0.5:5901
vm2:	192.168.1.7:5900
v6: fd00::12:5900
sock: unix_socket:/run/vnc/vm3.sock
bad:10.0.0.9:5900
sp ace: h:1
dup: first:1
port: h:70000
dup: second:2
`)
	for _, plugin := range []string{"TokenFile", "ReadOnlyTokenFile", "websockify.token_plugins.TokenFile"} {
		t.Run(plugin, func(t *testing.T) {
			s, log := newTestSource(t, plugin, p, Options{ReloadInterval: -1})
			tests := []struct {
				token string
				want  Target // zero = not found
			}{
				{"vm1", tcp("10.0.0.5:5901")},
				{"vm2", tcp("192.168.1.7:5900")},
				{"v6", tcp("[fd00::12]:5900")},
				{"sock", unix("/run/vnc/vm3.sock")},
				{"sp ace", tcp("h:1")},
				{"dup", tcp("second:2")},
				{"VM1", Target{}},
				{"bad", Target{}},
				{"port", Target{}},
				{"", Target{}},
			}
			for _, tt := range tests {
				got, err := s.Lookup(context.Background(), tt.token)
				if tt.want == (Target{}) {
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("Lookup(%q) = %+v, %v; want ErrNotFound", tt.token, got, err)
					}
					continue
				}
				if err != nil || got != tt.want {
					t.Errorf("Lookup(%q) = %+v, %v; want %+v", tt.token, got, err, tt.want)
				}
			}
			logged := log.String()
			for _, want := range []string{
				"tokens: " + p + ":6: syntax error:",
				"tokens: " + p + ":9: bad target:",
				"tokens: " + p + ":10: token defined again (first at " + p + ":8)",
			} {
				if !strings.Contains(logged, want) {
					t.Errorf("log lacks %q; got:\n%s", want, logged)
				}
			}
		})
	}
}

// TestTokenFileDirectory reads several files in name order, skips a
// subdirectory (logged) and lets the last duplicate win.
func TestTokenFileDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.cfg", "x: a:1\nonly-a: a:2\nbroken line\n")
	writeFile(t, dir, "b.cfg", "x: b:1\n")
	writeFile(t, dir, ".hidden", "hidden: h:1\n")
	writeFile(t, dir, "c.cfg~", "backup: h:2\n")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub"), "inner", "inner: h:3\n")
	if err := os.Symlink(filepath.Join(dir, "b.cfg"), filepath.Join(dir, "z-link")); err != nil {
		t.Fatal(err)
	}
	s, log := newTestSource(t, "TokenFile", dir, Options{ReloadInterval: -1})
	tests := []struct {
		token string
		want  Target
	}{
		{"x", tcp("b:1")}, // b.cfg after a.cfg; z-link repeats b.cfg
		{"only-a", tcp("a:2")},
		{"hidden", tcp("h:1")}, // dot-files are read, as by websockify
		{"backup", tcp("h:2")}, // so are editor backups
	}
	for _, tt := range tests {
		if got, err := s.Lookup(context.Background(), tt.token); err != nil || got != tt.want {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", tt.token, got, err, tt.want)
		}
	}
	if !notFound(s, "inner") {
		t.Errorf("Lookup(inner): got found, want ErrNotFound (subdirectories are not read)")
	}
	logged := log.String()
	for _, want := range []string{
		"tokens: " + filepath.Join(dir, "sub") + ": skipped: a subdirectory",
		"tokens: " + filepath.Join(dir, "a.cfg") + ":3: syntax error",
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q; got:\n%s", want, logged)
		}
	}
}

// TestTokenFileNew checks New's errors.
func TestTokenFileNew(t *testing.T) {
	dir := t.TempDir()
	lf, _ := testLog(t)
	tests := []struct {
		name, plugin, source, want string
	}{
		{"missing file", "TokenFile", filepath.Join(dir, "nope"), "no such file"},
		{"empty source", "TokenFile", "", "empty token source"},
		{"unknown plugin", "Nope", dir, "known plugins: JWTTokenApi, ReadOnlyTokenFile, TokenFile, TokenFileName, TokenRedis, UnixDomainSocketDirectory"},
		{"other module", "mymod.TokenFile", dir, `unknown token plugin "mymod.TokenFile"`},
		{"HTTP API", "JSONTokenApi", "http://x/%s", "not supported"},
		{"file name plugin on a file", "TokenFileName", writeFile(t, dir, "f", ""), "not a directory"},
		{"socket plugin on a missing dir", "UnixDomainSocketDirectory", filepath.Join(dir, "nope"), "no such file"},
		{"JWT key missing", "JWTTokenApi", filepath.Join(dir, "nope"), "no such file"},
		{"redis source bad port", "TokenRedis", "h:x", "not a decimal"},
		{"dotted unknown", "websockify.token_plugins.Nope", dir, `unknown token plugin "websockify.token_plugins.Nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.plugin, tt.source, Options{LoggerFactory: lf})
			if err == nil {
				s.Close()
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tokens: ") {
				t.Errorf("got error %q, want one starting %q and containing %q", err, "tokens: ", tt.want)
			}
		})
	}
}

// TestTokenFileEmptyDirectory: an empty directory is a valid, empty source.
func TestTokenFileEmptyDirectory(t *testing.T) {
	s, _ := newTestSource(t, "TokenFile", t.TempDir(), Options{ReloadInterval: -1})
	if !notFound(s, "x") {
		t.Errorf("Lookup(x): got found, want ErrNotFound")
	}
}
