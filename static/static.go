// Package static serves the bridge's web side: requests on the WebSocket
// port that are not upgrades. Without a directory it serves one embedded
// page that says what the bridge is and how to connect to it; with one
// (websockify's --web) it serves that directory's files.
//
// Every response carries X-Content-Type-Options: nosniff and
// Referrer-Policy: no-referrer. Only GET and HEAD are served; other methods
// get 405 with an Allow header.
package static

import (
	"net/http"

	"github.com/pion/logging"
)

// Options configures the handler New returns.
type Options struct {
	// Web is the directory to serve, as websockify's --web. Empty means
	// the embedded page at "/" and 404 for every other path. The directory
	// is opened once, in New, as an os.Root: names containing ".." and
	// symlinks leading out of it are refused (404), so only files inside
	// the tree can be served. The root stays open for the life of the
	// process.
	Web string

	// FileOnly turns directory listings off (404), as websockify's
	// --file-only. It wins over Listing.
	FileOnly bool

	// Listing turns on listings of directories that have no index.html.
	// False (the default) behaves as websockify's --file-only: listings
	// expose every file name in the tree and were reported as a
	// vulnerability in websockify, which lists by default.
	Listing bool

	// Target is the host:port the bridge connects to, shown on the
	// embedded page. Empty leaves it out. Note that the page is public:
	// anyone who can reach the port learns the target's name.
	Target string

	// Version is shown on the embedded page.
	Version string

	// ReadmeURL, if not empty, is linked from the embedded page as the
	// place to read more. Empty names README.md in the source instead.
	ReadmeURL string

	// LoggerFactory makes the "static" logger. Nil means
	// logging.NewDefaultLoggerFactory().
	LoggerFactory logging.LoggerFactory
}

// New returns the handler for non-upgrade requests. It fails if Web is set
// but cannot be opened as a directory.
func New(opts Options) (http.Handler, error) {
	if opts.LoggerFactory == nil {
		opts.LoggerFactory = logging.NewDefaultLoggerFactory()
	}
	log := opts.LoggerFactory.NewLogger("static")
	var (
		h   http.Handler
		err error
	)
	if opts.Web == "" {
		h, err = newPage(opts)
	} else {
		h, err = newDir(opts, log)
	}
	if err != nil {
		return nil, err
	}
	return &guard{next: h}, nil
}

// guard adds the headers every response carries and refuses methods that
// cannot read.
type guard struct{ next http.Handler }

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	g.next.ServeHTTP(w, r)
}
