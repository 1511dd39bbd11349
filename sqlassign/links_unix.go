//go:build unix

package sqlassign

import (
	"io/fs"
	"syscall"
)

// links returns how many names (hard links) the file of fi has.
func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
