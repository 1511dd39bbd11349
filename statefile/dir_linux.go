package statefile

import (
	"os"
	"path/filepath"
	"strconv"
)

// syncDir syncs the directory holding the open file f: the one the kernel found it in, named by
// /proc/self/fd (an absolute path with symbolic links and ".." resolved), not a parent taken from
// the text of path.
func syncDir(f *os.File, path string) error {
	real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil || !filepath.IsAbs(real) {
		return syncDirectory(parentOf(path))
	}
	return syncDirectory(filepath.Dir(real))
}
