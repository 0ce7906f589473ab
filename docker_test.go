package main

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"wsbridge/internal/testpeer"
)

// The binary is nearly all of the scratch image (the CA roots add about
// 0.2 MB); issue 8's target for the image is 15 MB. It was 21 MB until
// html/template went: its reflection (Value.MethodByName) makes the
// linker keep every exported method of every type, go-redis's hundreds of
// commands included.
const maxImageBinary = 15_000_000

// dockerfile is the Dockerfile as instructions: the keyword and the rest
// of the line, continuation lines joined; comments dropped.
func dockerfile(t *testing.T) [][2]string {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ins [][2]string
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, `\`); ok {
			cur += rest + " "
			continue
		}
		cur += line
		kw, args, _ := strings.Cut(cur, " ")
		ins = append(ins, [2]string{strings.ToUpper(kw), strings.TrimSpace(args)})
		cur = ""
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ins
}

// shellWords splits a simple shell command line: words separated by
// spaces, single and double quotes, no expansions.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// TestDockerfile checks the image's structure without a container engine
// and runs the build stage's `go build` line as it is written, then
// checks that the binary is static, within the size budget, and runs.
func TestDockerfile(t *testing.T) {
	ins := dockerfile(t)
	var (
		stages   []string
		buildCmd string
		download bool // RUN go mod download seen
		early    bool // ...and before COPY . . (its own cached layer)
		final    = map[string]string{}
		envs     []string // the final stage's ENV settings
	)
	for _, in := range ins {
		kw, args := in[0], in[1]
		switch {
		case kw == "FROM":
			stages = append(stages, args)
		case len(stages) == 1 && kw == "RUN" && strings.Contains(args, "go mod download"):
			download = true
		case len(stages) == 1 && kw == "COPY" && strings.HasPrefix(args, ". "):
			early = download
		case len(stages) == 1 && kw == "RUN" && strings.Contains(args, "go build"):
			buildCmd = args
		case len(stages) == 2 && kw == "ENV":
			envs = append(envs, strings.Fields(args)...)
		case len(stages) == 2:
			final[kw] = args
		}
	}
	if len(stages) != 2 || !strings.HasPrefix(stages[0], "golang:1.26 ") {
		t.Fatalf("stages %q: want golang:1.26 AS build, then the final image", stages)
	}
	if s := stages[1]; s != "scratch" && !strings.HasPrefix(s, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s: want scratch or distroless static", s)
	}
	if !early {
		t.Errorf("want RUN go mod download in its own layer, before COPY . .")
	}
	for kw, want := range map[string]string{
		"USER":       "65532:65532",
		"ENTRYPOINT": `["/wsbridge"]`,
		"VOLUME":     "/var/lib/wsbridge",
		"EXPOSE":     "8080 9180",
	} {
		if got := final[kw]; got != want {
			t.Errorf("final stage %s %q, want %q", kw, got, want)
		}
	}
	if !slices.Contains(envs, "WSBRIDGE_ACME_CACHE=/var/lib/wsbridge/acme") {
		t.Errorf("final stage ENV %q: want WSBRIDGE_ACME_CACHE in the volume", envs)
	}
	if !strings.Contains(final["LABEL"], "org.opencontainers.image.title=") {
		t.Errorf("final stage LABEL %q: want org.opencontainers.image.* labels", final["LABEL"])
	}
	if !strings.Contains(strings.Join(copies(ins), " "), "/etc/ssl/certs/ca-certificates.crt") {
		t.Error("final stage: no CA roots copied (ACME needs them)")
	}

	// The build line: VAR=value ... go build ... -o /out/wsbridge .
	if buildCmd == "" {
		t.Fatal("no RUN ... go build in the build stage")
	}
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	words := shellWords(buildCmd)
	var env []string
	for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
		env, words = append(env, words[0]), words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("build line %q: want [VAR=value...] go build ...", buildCmd)
	}
	if !strings.Contains(strings.Join(env, " "), "CGO_ENABLED=0") {
		t.Errorf("build line %q: no CGO_ENABLED=0", buildCmd)
	}
	bin := filepath.Join(t.TempDir(), "wsbridge")
	for i, w := range words {
		if w == "-o" && i+1 < len(words) {
			if words[i+1] != "/out/wsbridge" {
				t.Errorf("build line writes %s, want /out/wsbridge (copied from there)", words[i+1])
			}
			words[i+1] = bin
		}
	}
	for _, want := range []string{"-trimpath", "-ldflags=-s -w"} {
		if !strings.Contains(strings.Join(words, " "), want) {
			t.Errorf("build line %q: no %s", buildCmd, want)
		}
	}
	cmd := exec.Command(words[0], words[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", buildCmd, err, out)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has a PT_INTERP (dynamic loader): not static, will not run on scratch")
		}
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image binary: %.1f MB", float64(fi.Size())/1e6)
	if fi.Size() >= maxImageBinary {
		t.Errorf("binary is %d bytes, want < %d", fi.Size(), maxImageBinary)
	}
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "wsbridge ") {
		t.Errorf("%s --version: %v, %q", bin, err, out)
	}
	checkHealthcheck(t, bin, envs, final["HEALTHCHECK"])
}

// checkHealthcheck runs the image's binary with the image's environment
// (the metrics port moved to a free loopback port) and checks that the
// HEALTHCHECK command reports it healthy.
func checkHealthcheck(t *testing.T, bin string, envs []string, healthcheck string) {
	_, execForm, ok := strings.Cut(healthcheck, "CMD ")
	var argv []string
	if !ok || json.Unmarshal([]byte(execForm), &argv) != nil || len(argv) == 0 || argv[0] != "/wsbridge" {
		t.Fatalf("HEALTHCHECK %q: want CMD [\"/wsbridge\", ...] (exec form: scratch has no shell)", healthcheck)
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", testpeer.FreePort(t))
	env := []string{"WSBRIDGE_LISTEN=127.0.0.1:0", "WSBRIDGE_TARGET=127.0.0.1:5900"}
	for _, e := range envs {
		if strings.HasPrefix(e, "WSBRIDGE_METRICS_LISTEN=") {
			e = "WSBRIDGE_METRICS_LISTEN=" + metricsAddr
		}
		if strings.HasPrefix(e, "WSBRIDGE_ACME_CACHE=") {
			continue // a path in the image; unused without --acme-domain
		}
		env = append(env, e)
	}
	if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "WSBRIDGE_METRICS_LISTEN=") }) {
		t.Fatalf("image ENV %q: no WSBRIDGE_METRICS_LISTEN for the health check to probe", envs)
	}
	p := startBinary(t, bin, env)
	if !p.stderr.WaitFor("health checks on", waitLimit) {
		t.Fatalf("the image's binary did not open its metrics port:\n%s", p.stderr)
	}
	cmd := exec.Command(bin, argv[1:]...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "ok") {
		t.Errorf("HEALTHCHECK %v: %v\n%s", argv, err, out)
	}
}

// copies returns the arguments of every COPY instruction.
func copies(ins [][2]string) []string {
	var cs []string
	for _, in := range ins {
		if in[0] == "COPY" {
			cs = append(cs, in[1])
		}
	}
	return cs
}
