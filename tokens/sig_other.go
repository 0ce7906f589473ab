//go:build !linux

package tokens

import "io/fs"

// sysSig is empty outside Linux: a file's identity there is its size, mode
// and mtime, backed up by the content hash taken in the racy window.
type sysSig struct {
	ctimeNano int64
}

// sysSigOf returns the zero sysSig.
func sysSigOf(fs.FileInfo) sysSig { return sysSig{} }
