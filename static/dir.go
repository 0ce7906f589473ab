package static

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/pion/logging"
)

// dir serves a directory tree (--web) through http.FileServerFS, which
// cleans the path, answers HEAD, Range and If-Modified-Since, redirects a
// directory without its trailing slash (301) and serves index.html.
type dir struct {
	fsys    fs.FS
	files   http.Handler
	listing bool
}

func newDir(opts Options, log logging.LeveledLogger) (*dir, error) {
	root, err := os.OpenRoot(opts.Web)
	if err != nil {
		return nil, fmt.Errorf("static: --web: %w", err)
	}
	fsys := rootFS{fsys: root.FS(), log: log}
	return &dir{
		fsys:    fsys,
		files:   http.FileServerFS(fsys),
		listing: opts.Listing && !opts.FileOnly,
	}, nil
}

func (d *dir) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !d.listing && strings.HasSuffix(r.URL.Path, "/") && !d.hasIndex(r.URL.Path) {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(r.URL.Path) {
	case ".js", ".mjs":
		// noVNC loads ES modules, which browsers refuse under any other
		// type; the system's mime.types may say application/javascript or
		// nothing at all (websockify #443).
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	if tag := d.etag(r.URL.Path); tag != "" {
		// FileServer (http.ServeContent) answers If-None-Match and
		// If-Range with a 304 or a range against this tag.
		w.Header().Set("ETag", tag)
	}
	d.files.ServeHTTP(w, r)
}

// etag is a weak validator from the size and modification time of the
// file FileServer will serve for urlPath (index.html for a directory), or
// "" when there is none. Cheap: a stat, no read of the content.
func (d *dir) etag(urlPath string) string {
	name := strings.TrimPrefix(path.Clean(urlPath), "/")
	if name == "" {
		name = "."
	}
	fi, err := fs.Stat(d.fsys, name)
	if err == nil && fi.IsDir() {
		fi, err = fs.Stat(d.fsys, path.Join(name, "index.html"))
	}
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return fmt.Sprintf(`W/"%x-%x"`, fi.Size(), fi.ModTime().UnixNano())
}

// hasIndex reports whether FileServer would answer urlPath with a file
// rather than a listing: urlPath is not a directory (FileServer redirects
// or 404s), or it holds an index.html that is not a directory.
func (d *dir) hasIndex(urlPath string) bool {
	name := strings.TrimPrefix(path.Clean(urlPath), "/") // as FileServer cleans it
	if name == "" {
		name = "."
	}
	fi, err := fs.Stat(d.fsys, name)
	if err != nil || !fi.IsDir() {
		return true
	}
	fi, err = fs.Stat(d.fsys, path.Join(name, "index.html"))
	return err == nil && !fi.IsDir()
}

// rootFS reports every failure to open a name other than a permission
// error as fs.ErrNotExist. FileServer turns unknown errors into a 500;
// this way a symlink leading out of the root ("path escapes from parent")
// is an ordinary 404 and does not tell the client what is there.
type rootFS struct {
	fsys fs.FS
	log  logging.LeveledLogger
}

func (r rootFS) Open(name string) (fs.File, error) {
	f, err := r.fsys.Open(name)
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return f, err
	}
	r.log.Debugf("open %q: %v", name, err)
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
