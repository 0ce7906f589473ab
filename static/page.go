package static

import (
	"bytes"
	"embed"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"
)

// The embedded page: index.html, whose <!--name--> markers are filled in
// once in New with escaped values (no html/template: its reflection keeps
// every exported method of every linked type in the binary, 4 MB here);
// the script and the style sheet are plain files so the Content-Security-
// Policy needs no inline exceptions.
//
//go:embed page
var pageFiles embed.FS

// pageCSP allows nothing but the page's own script and style sheet. The
// page never connects anywhere itself; connect-src is there so a script a
// user pastes in the console to try the bridge is not refused.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// page serves the embedded page. Its fields are set in New and only read
// afterwards.
type page struct {
	index, script, style []byte
}

func newPage(opts Options) (*page, error) {
	index, err := pageFiles.ReadFile("page/index.html")
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	var version, target string
	readme := "README.md in the wsbridge source"
	if opts.Version != "" {
		version = ` <span class="version">` + html.EscapeString(opts.Version) + `</span>`
	}
	if opts.Target != "" {
		target = " Every WebSocket opened on this server is bridged to a TCP\nconnection to <code class=\"target\">" + html.EscapeString(opts.Target) + "</code>."
	}
	if opts.ReadmeURL != "" {
		readme = `the <a href="` + html.EscapeString(opts.ReadmeURL) + `">README</a>`
	}
	fill := strings.NewReplacer("<!--version-->", version, "<!--target-->", target, "<!--readme-->", readme)
	p := &page{index: []byte(fill.Replace(string(index)))}
	if p.script, err = pageFiles.ReadFile("page/wsbridge.js"); err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	if p.style, err = pageFiles.ReadFile("page/wsbridge.css"); err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	return p, nil
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	var ctype string
	switch r.URL.Path {
	case "/", "/index.html":
		body, ctype = p.index, "text/html; charset=utf-8"
	case "/wsbridge.js":
		body, ctype = p.script, "text/javascript; charset=utf-8"
	case "/wsbridge.css":
		body, ctype = p.style, "text/css; charset=utf-8"
	default:
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Content-Type", ctype)
	// The zero time leaves out Last-Modified; ServeContent still answers
	// HEAD and Range.
	http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(body))
}
