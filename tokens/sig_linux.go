//go:build linux

package tokens

import (
	"io/fs"
	"syscall"
)

// sysSig is the part of a file's identity only the system's stat gives:
// device and inode (a file replaced by rename keeps size and may keep mtime)
// and ctime (set by touch -d and by rename, unlike mtime).
type sysSig struct {
	dev, ino  uint64
	ctimeNano int64
}

// sysSigOf returns fi's sysSig, or the zero value if the stat data is missing.
func sysSigOf(fi fs.FileInfo) sysSig {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return sysSig{}
	}
	return sysSig{
		dev:       uint64(st.Dev),
		ino:       uint64(st.Ino),
		ctimeNano: int64(st.Ctim.Sec)*1e9 + int64(st.Ctim.Nsec),
	}
}
