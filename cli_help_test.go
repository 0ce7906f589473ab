package main

import (
	"bytes"
	"context"
	"flag"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func helpText(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := run(context.Background(), runEnv{Args: []string{"--help"}, Stdout: &b, Stderr: &b}); err != nil {
		t.Fatalf("run --help: %v", err)
	}
	return b.String()
}

// TestHelpListsEveryFlag compares the flag set with --help both ways, so
// that neither can change without the other.
func TestHelpListsEveryFlag(t *testing.T) {
	help := helpText(t)
	var c Config
	var h, v bool
	var given []string
	fs, err := newFlagSet(&c, &h, &v, &given)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)(?:^|[\s,/(])(--?[a-zA-Z0-9][a-zA-Z0-9-]*)`).FindAllStringSubmatch(help, -1) {
		listed[strings.TrimLeft(m[1], "-")] = true
		if m[1] == "--opt" || m[1] == "-opt" {
			continue // the syntax paragraph
		}
		if fs.Lookup(strings.TrimLeft(m[1], "-")) == nil {
			t.Errorf("--help mentions %s, which is no flag", m[1])
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !listed[f.Name] {
			t.Errorf("--help does not list flag %q", f.Name)
		}
	})

	// Each Config flag has a header line with its environment variable and
	// its default.
	rt := reflect.TypeFor[Config]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		envName := "$" + envPrefix + f.Tag.Get("env")
		if !strings.Contains(help, envName) {
			t.Errorf("--help lacks %s", envName)
		}
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		line := regexp.MustCompile(`(?m)^  (?:-\w, )?--` + regexp.QuoteMeta(name) + `\b.*$`).FindString(help)
		if !strings.Contains(line, envName+" (default: ") {
			t.Errorf("--help line for --%s is %q, want %s and a default", name, line, envName)
		}
	}
	for _, u := range unsupportedOptions() {
		if !strings.Contains(help, u.env()) {
			t.Errorf("--help lacks %s", u.env())
		}
	}
	for _, want := range []string{
		"wsbridge 8080 localhost:5900",
		"wsbridge 127.0.0.1:6080 vnc.internal:5901 --heartbeat 30",
		"WSBRIDGE_LISTEN=:8080 WSBRIDGE_TARGET=localhost:22 wsbridge",
		"(default: 10)", "(default: info)", "(default: 65536)",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for i, line := range strings.Split(help, "\n") {
		if len(line) > 79 {
			t.Errorf("--help line %d is %d columns: %q", i+1, len(line), line)
		}
	}
}

func TestVersion(t *testing.T) {
	var b bytes.Buffer
	if err := run(context.Background(), runEnv{Args: []string{"--version"}, Stdout: &b}); err != nil {
		t.Fatalf("run --version: %v", err)
	}
	if got := b.String(); !strings.HasPrefix(got, "wsbridge ") || !strings.HasSuffix(got, "\n") || len(got) < len("wsbridge x\n") {
		t.Errorf("--version printed %q, want \"wsbridge <version>\\n\"", got)
	}
}
