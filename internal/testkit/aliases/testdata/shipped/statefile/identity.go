// THE SHIPPED DEFECT, for the alias search's proof only (go build -overlay): statefile as of
// 86bca99, before issue 18, whose guard resolved the path as text and renamed the file over itself.

package statefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLinks bounds how many symbolic links resolve follows.
const maxLinks = 40

// resolve returns the one name a state file is known by: symbolic links (of the file and of its
// directories) followed, as an absolute path. Every path that reaches the same file through symbolic
// links resolves to the same name, so that the lock taken on it keeps two servers apart, and the
// marks are written to the file itself, leaving the links in place. An existing file must be a
// regular file with one name: a FIFO or a device would block or mislead, and a hard link would be
// split in two by the first rename (each name keeping its own marks).
func resolve(path string) (string, error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("statefile: %w", err)
	}
	for i := 0; ; i++ {
		if i == maxLinks {
			return "", fmt.Errorf("statefile: %s: more than %d symbolic links", path, maxLinks)
		}
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			break // a first start: the file is created at the resolved name
		}
		if err != nil {
			return "", fmt.Errorf("statefile: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if err := checkFile(p, fi); err != nil {
				return "", err
			}
			break
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", fmt.Errorf("statefile: %w", err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(p))
	if err != nil {
		return "", fmt.Errorf("statefile: directory of %s: %w", path, err)
	}
	return filepath.Join(dir, filepath.Base(p)), nil
}

// checkFile returns an error unless fi describes a regular file with one name.
func checkFile(p string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("statefile: %s is not a regular file (%s): a state file must be a plain file", p, fi.Mode().Type())
	}
	if n := links(fi); n > 1 {
		return fmt.Errorf("statefile: %s has %d hard links: a state file must have one name (a symbolic link is fine), "+
			"or two servers could keep it under different names", p, n)
	}
	return nil
}
