package static

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pion/logging"
)

func quietLogs() logging.LoggerFactory {
	return &logging.DefaultLoggerFactory{Writer: discard{}, DefaultLogLevel: logging.LogLevelDisabled}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func newHandler(t *testing.T, opts Options) http.Handler {
	t.Helper()
	opts.LoggerFactory = quietLogs()
	h, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	return h
}

// do serves one request; target is written as it would appear on the
// request line, so "/%2e%2e/x" stays encoded until the server parses it.
func do(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func checkSecurityHeaders(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestPage(t *testing.T) {
	h := newHandler(t, Options{Target: "vnc.internal:5901", Version: "v1.2.3"})

	for _, path := range []string{"/", "/index.html"} {
		w := do(h, http.MethodGet, path)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", path, w.Code)
		}
		body := w.Body.String()
		for _, want := range []string{"wsbridge", "vnc.internal:5901", "v1.2.3", "websockify", "vnc.html?host=", `src="wsbridge.js"`} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s: page lacks %q", path, want)
			}
		}
		if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q, want text/html; charset=utf-8", path, got)
		}
		csp := w.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self' ws: wss:", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
			t.Errorf("GET %s: inline script or style, or a CSP allowing it", path)
		}
		checkSecurityHeaders(t, w)
	}

	for path, ctype := range map[string]string{
		"/wsbridge.js":  "text/javascript; charset=utf-8",
		"/wsbridge.css": "text/css; charset=utf-8",
	} {
		w := do(h, http.MethodGet, path)
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != ctype {
			t.Errorf("GET %s: %d %q, want 200 %q", path, w.Code, w.Header().Get("Content-Type"), ctype)
		}
	}

	for _, path := range []string{"/websockify", "/vnc.html", "/index.htm", "/x/"} {
		if w := do(h, http.MethodGet, path); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, w.Code)
		}
	}
}

func TestPageEscapes(t *testing.T) {
	h := newHandler(t, Options{Target: `<script>alert(1)</script>:1`, Version: `"><b>`})
	body := do(h, http.MethodGet, "/").Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, `"><b>`) {
		t.Errorf("target or version not escaped:\n%s", body)
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;:1") {
		t.Errorf("escaped target missing:\n%s", body)
	}
}

func TestPageHeadAndRange(t *testing.T) {
	h := newHandler(t, Options{Target: "t:1", Version: "v"})
	full := do(h, http.MethodGet, "/").Body.Bytes()

	w := do(h, http.MethodHead, "/")
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD /: %d with %d body bytes, want 200 and none", w.Code, w.Body.Len())
	}
	w = do(h, http.MethodGet, "/", "Range", "bytes=0-14")
	if w.Code != http.StatusPartialContent || w.Body.String() != string(full[:15]) {
		t.Errorf("GET / Range 0-14: %d %q, want 206 %q", w.Code, w.Body.String(), full[:15])
	}
}

func TestMethods(t *testing.T) {
	for name, opts := range map[string]Options{"page": {}, "web": {Web: t.TempDir()}} {
		h := newHandler(t, opts)
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPatch, "BREW"} {
			w := do(h, m, "/")
			if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("%s: %s /: %d Allow %q, want 405 Allow \"GET, HEAD\"", name, m, w.Code, w.Header().Get("Allow"))
			}
			checkSecurityHeaders(t, w)
		}
	}
}

func TestNewBadWeb(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := New(Options{Web: missing, LoggerFactory: quietLogs()}); err == nil {
		t.Errorf("New with a missing --web directory: no error")
	}
}

// webTree builds
//
//	outside/secret.txt
//	web/app.js  web/style.css  web/data.bin
//	web/withindex/index.html  web/noindex/a.txt
//	web/escape -> ../outside/secret.txt  web/escapedir -> ../outside
//	web/inside -> app.js
//
// and returns the web directory.
func webTree(t *testing.T) string {
	t.Helper()
	top := t.TempDir()
	files := map[string]string{
		"outside/secret.txt":       "SECRET",
		"web/app.js":               "export const x = 1;\n",
		"web/style.css":            "body{}\n",
		"web/data.bin":             "0123456789",
		"web/withindex/index.html": "<p>INDEX</p>\n",
		"web/noindex/a.txt":        "A",
	}
	for name, body := range files {
		p := filepath.Join(top, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	web := filepath.Join(top, "web")
	for link, to := range map[string]string{
		"escape":    "../outside/secret.txt",
		"escapedir": "../outside",
		"abs":       filepath.Join(top, "outside", "secret.txt"),
		"inside":    "app.js",
	} {
		if err := os.Symlink(to, filepath.Join(web, link)); err != nil {
			t.Fatal(err)
		}
	}
	return web
}

func TestWeb(t *testing.T) {
	web := webTree(t)
	off := newHandler(t, Options{Web: web})
	on := newHandler(t, Options{Web: web, Listing: true})
	fileOnly := newHandler(t, Options{Web: web, Listing: true, FileOnly: true})

	tests := []struct {
		name     string
		h        http.Handler
		target   string
		code     int
		body     string // substring, "" = not checked
		location string // for redirects
	}{
		{"file", off, "/style.css", 200, "body{}", ""},
		{"index", off, "/withindex/", 200, "INDEX", ""},
		{"dir redirect", off, "/withindex", 301, "", "withindex/"},
		{"index.html redirect", off, "/withindex/index.html", 301, "", "./"},
		{"listing off", off, "/noindex/", 404, "", ""},
		{"listing off root", off, "/", 404, "", ""},
		{"listing on", on, "/noindex/", 200, `href="a.txt"`, ""},
		{"listing on root", on, "/", 200, `href="app.js"`, ""},
		{"file-only wins", fileOnly, "/noindex/", 404, "", ""},
		{"missing", off, "/nope.txt", 404, "", ""},
		{"symlink inside", off, "/inside", 200, "export const", ""},
		{"dotdot", off, "/../outside/secret.txt", 404, "", ""},
		{"dotdot deep", off, "/noindex/../../outside/secret.txt", 404, "", ""},
		{"encoded dotdot", off, "/%2e%2e/outside/secret.txt", 404, "", ""},
		{"encoded slash", off, "/..%2foutside/secret.txt", 404, "", ""},
		{"encoded both", off, "/%2e%2e%2foutside%2fsecret.txt", 404, "", ""},
		{"backslash", off, `/..\outside\secret.txt`, 404, "", ""},
		{"symlink out", off, "/escape", 404, "", ""},
		{"absolute symlink out", off, "/abs", 404, "", ""},
		{"symlink dir out", off, "/escapedir/secret.txt", 404, "", ""},
		{"symlink dir out listing", on, "/escapedir/", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(tt.h, http.MethodGet, tt.target)
			if w.Code != tt.code {
				t.Fatalf("GET %s: status %d, want %d", tt.target, w.Code, tt.code)
			}
			if strings.Contains(w.Body.String(), "SECRET") {
				t.Fatalf("GET %s: served a file from outside the web root", tt.target)
			}
			if tt.body != "" && !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("GET %s: body %q lacks %q", tt.target, w.Body.String(), tt.body)
			}
			if got := w.Header().Get("Location"); got != tt.location {
				t.Errorf("GET %s: Location %q, want %q", tt.target, got, tt.location)
			}
			checkSecurityHeaders(t, w)
			if w.Header().Get("Content-Security-Policy") != "" && tt.code == 200 {
				t.Errorf("GET %s: the page's CSP on a --web file", tt.target)
			}
		})
	}
}

func TestWebContentTypes(t *testing.T) {
	h := newHandler(t, Options{Web: webTree(t)})
	for path, want := range map[string]string{
		"/app.js":     "text/javascript; charset=utf-8",
		"/style.css":  "text/css; charset=utf-8",
		"/withindex/": "text/html; charset=utf-8",
	} {
		if got := do(h, http.MethodGet, path).Header().Get("Content-Type"); got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, want)
		}
	}
}

func TestWebHeadAndRange(t *testing.T) {
	h := newHandler(t, Options{Web: webTree(t)})

	w := do(h, http.MethodHead, "/data.bin")
	if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") != "10" {
		t.Errorf("HEAD /data.bin: %d, %d body bytes, Content-Length %q; want 200, 0, 10",
			w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
	if w.Header().Get("Last-Modified") == "" {
		t.Errorf("HEAD /data.bin: no Last-Modified")
	}

	w = do(h, http.MethodGet, "/data.bin", "Range", "bytes=2-5")
	if w.Code != http.StatusPartialContent || w.Body.String() != "2345" {
		t.Errorf("GET /data.bin Range 2-5: %d %q, want 206 \"2345\"", w.Code, w.Body.String())
	}
	if got := w.Header().Get("Content-Range"); got != "bytes 2-5/10" {
		t.Errorf("Content-Range %q, want \"bytes 2-5/10\"", got)
	}
}

func TestWebETag(t *testing.T) {
	h := newHandler(t, Options{Web: webTree(t)})
	w := do(h, http.MethodGet, "/data.bin")
	tag := w.Header().Get("ETag")
	if w.Code != http.StatusOK || !strings.HasPrefix(tag, `W/"`) {
		t.Fatalf("GET /data.bin: %d, ETag %q; want 200 and a weak ETag", w.Code, tag)
	}
	if w = do(h, http.MethodGet, "/data.bin", "If-None-Match", tag); w.Code != http.StatusNotModified {
		t.Errorf("GET /data.bin If-None-Match its ETag: %d, want 304", w.Code)
	}
	if w = do(h, http.MethodGet, "/data.bin", "If-None-Match", `W/"other"`); w.Code != http.StatusOK {
		t.Errorf("GET /data.bin If-None-Match another ETag: %d, want 200", w.Code)
	}
	if w = do(h, http.MethodGet, "/withindex/"); w.Code != http.StatusOK || w.Header().Get("ETag") == "" {
		t.Errorf("GET /withindex/ (index.html): %d, ETag %q; want 200 and an ETag", w.Code, w.Header().Get("ETag"))
	}
}
