// THE SHIPPED DEFECT, for the alias search's proof only (go build -overlay): statefile as of
// 86bca99, before issue 18, whose guard resolved the path as text and renamed the file over itself.

package statefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Read reads and parses the state file at path. A missing file returns an error matching
// fs.ErrNotExist; every defect of an existing file wraps ErrCorrupt.
func Read(path string) (State, error) {
	f, err := os.Open(path)
	if err != nil {
		return State{}, fmt.Errorf("statefile: read: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return State{}, fmt.Errorf("statefile: read %s: %w", path, err)
	}
	s, err := Parse(data)
	if err != nil {
		return State{}, fmt.Errorf("%w (file %s; move it away only if no ID was issued with its node values after its mark)", err, path)
	}
	return s, nil
}

// Write records s at path durably: it writes a temporary file next to path, syncs it, renames it
// over path and syncs the directory, so that a crash leaves either the old or the new contents.
func Write(path string, s State) error { return write(path, s, nil) }

// write is Write, calling check (when not nil) just before the rename; an error from check leaves
// the file as it was.
func write(path string, s State, check func() error) error {
	data, err := s.MarshalText()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("statefile: write: %w", err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && check != nil {
		err = check()
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("statefile: write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("statefile: write %s: sync directory: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
