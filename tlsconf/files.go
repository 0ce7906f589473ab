package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// certSource is what --cert and --key name on disk.
type certSource struct {
	certs []string // files or directories, as given
	key   string   // --key, or ""
}

// pemFile is one certificate file as read, with its key's bytes.
type pemFile struct {
	path    string
	data    []byte
	keyPath string // where key came from; path itself when the file holds it
	key     []byte
}

// read expands directories and reads every file. The digest covers names
// and contents, so the poller notices edits, renames and new files.
func (s certSource) read() ([]pemFile, [sha256.Size]byte, error) {
	var files []pemFile
	var sum [sha256.Size]byte
	for _, p := range s.certs {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, sum, fmt.Errorf("tlsconf: --cert %s: %w", p, err)
		}
		if !fi.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, sum, fmt.Errorf("tlsconf: --cert %s: %w", p, err)
			}
			if !hasBlock(data, isCertBlock) {
				return nil, sum, fmt.Errorf("tlsconf: --cert %s: no PEM CERTIFICATE block", p)
			}
			files = append(files, pemFile{path: p, data: data})
			continue
		}
		dirFiles, err := readCertDir(p)
		if err != nil {
			return nil, sum, err
		}
		files = append(files, dirFiles...)
	}
	if len(files) == 0 {
		return nil, sum, fmt.Errorf("tlsconf: --cert %s: no *.pem or *.crt certificate files", strings.Join(s.certs, ", "))
	}
	if s.key != "" && len(files) != 1 {
		return nil, sum, fmt.Errorf("tlsconf: --key %s: names one key, but --cert gives %d certificate files; put each key in its certificate file or beside it as NAME.key", s.key, len(files))
	}
	h := sha256.New()
	for i := range files {
		if err := s.readKey(&files[i]); err != nil {
			return nil, sum, err
		}
		f := files[i]
		for _, b := range [][]byte{[]byte(f.path), f.data, []byte(f.keyPath), f.key} {
			fmt.Fprintf(h, "%d:", len(b))
			h.Write(b)
		}
	}
	h.Sum(sum[:0])
	return files, sum, nil
}

// readCertDir reads the *.pem and *.crt files of a --cert directory that
// hold certificates (key-only files belong to a sibling and are skipped).
func readCertDir(dir string) ([]pemFile, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("tlsconf: --cert %s: %w", dir, err)
	}
	var files []pemFile
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if (ext != ".pem" && ext != ".crt") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p) // follows symlinks (Kubernetes secret mounts)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: --cert %s: %w", p, err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: --cert %s: %w", p, err)
		}
		switch {
		case hasBlock(data, isCertBlock):
			files = append(files, pemFile{path: p, data: data})
		case hasBlock(data, isKeyBlock):
			// a key for a sibling certificate
		default:
			return nil, fmt.Errorf("tlsconf: --cert %s: no PEM CERTIFICATE block", p)
		}
	}
	return files, nil
}

// readKey finds f's key: --key, else f itself, else NAME.key beside it.
func (s certSource) readKey(f *pemFile) error {
	switch {
	case s.key != "":
		key, err := os.ReadFile(s.key)
		if err != nil {
			return fmt.Errorf("tlsconf: --key %s: %w", s.key, err)
		}
		f.keyPath, f.key = s.key, key
	case hasBlock(f.data, isKeyBlock):
		f.keyPath, f.key = f.path, f.data
	default:
		sibling := strings.TrimSuffix(f.path, filepath.Ext(f.path)) + ".key"
		key, err := os.ReadFile(sibling)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("tlsconf: --cert %s: no private key: put it in the file, give --key, or add %s", f.path, sibling)
		}
		if err != nil {
			return fmt.Errorf("tlsconf: --cert %s: key %s: %w", f.path, sibling, err)
		}
		f.keyPath, f.key = sibling, key
	}
	return nil
}

// parse turns a file and its key into a certificate, naming the flag on
// failure.
func (f pemFile) parse() (*tls.Certificate, error) {
	flag := "--cert " + f.path
	if f.keyPath != f.path {
		flag = "--cert " + f.path + " (key " + f.keyPath + ")"
	}
	if hasBlock(f.key, isEncryptedKey) {
		return nil, fmt.Errorf("tlsconf: %s: the private key is encrypted, which is not supported; decrypt it (openssl pkey -in KEY -out PLAIN)", flag)
	}
	if !hasBlock(f.key, isKeyBlock) {
		return nil, fmt.Errorf("tlsconf: %s: no PEM PRIVATE KEY block", flag)
	}
	cert, err := tls.X509KeyPair(f.data, f.key)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: %s: %w", flag, err)
	}
	return &cert, nil
}

// hasBlock reports whether data holds a PEM block matching want.
func hasBlock(data []byte, want func(*pem.Block) bool) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if want(b) {
			return true
		}
	}
}

func isCertBlock(b *pem.Block) bool { return b.Type == "CERTIFICATE" }

func isKeyBlock(b *pem.Block) bool {
	return strings.HasSuffix(b.Type, "PRIVATE KEY")
}

func isEncryptedKey(b *pem.Block) bool {
	return b.Type == "ENCRYPTED PRIVATE KEY" ||
		(isKeyBlock(b) && strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED"))
}
