package statefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Read reads and parses the state file at path, without locking it. A missing file returns an
// error matching fs.ErrNotExist; a file without a valid slot wraps ErrCorrupt.
func Read(path string) (State, error) {
	f, err := os.Open(path)
	if err != nil {
		return State{}, fmt.Errorf("statefile: read: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, fileSize+1))
	if err != nil {
		return State{}, fmt.Errorf("statefile: read %s: %w", path, err)
	}
	s, err := Parse(data)
	if err != nil {
		return State{}, fmt.Errorf("%w (file %s; move it away only if no ID was issued with its node values after its mark)", err, path)
	}
	return s, nil
}

// Write records s in the state file at path, creating it when missing, as Open's writes do: it
// takes the file's lock (ErrInUse when a process keeps it), writes the slot not holding the
// current state and syncs it. Tools and tests use it to prepare a file.
func Write(path string, s State) error {
	f, _, err := openFile(path, nil) // one write under the lock, no generator: any filesystem
	if err != nil {
		return err
	}
	defer f.close()
	return f.write(s)
}

// stateFile is a state file open for writing, under its lock.
type stateFile struct {
	f    *os.File
	path string // as given: the kernel resolves it, never this package
	seq  uint64 // the sequence number of the slot holding the state, 0 for none
	cur  int    // that slot's index; -1 for a new file
	// created: the file was empty when opened. Its directory is synced after the first write,
	// so that its name survives a crash once a mark in it has been granted.
	created bool
}

// openFile opens the state file at path, creating it when missing, locks it and reads it. It
// returns the recorded state, or nil for a new (empty) file. checkFS, if not nil, checks the open
// file's filesystem before the lock is taken. Errors: ErrInUse, ErrCorrupt, a file that is not a
// regular file, and those of checkFS.
func openFile(path string, checkFS func(*os.File) error) (*stateFile, *State, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|openFlags, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("statefile: open: %w", err)
	}
	fail := func(err error) (*stateFile, *State, error) {
		f.Close()
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("statefile: %w", err))
	}
	if !fi.Mode().IsRegular() {
		return fail(fmt.Errorf("statefile: %s is not a regular file (%s): a state file must be a plain file", path, fi.Mode().Type()))
	}
	if checkFS != nil {
		if err := checkFS(f); err != nil {
			return fail(err)
		}
	}
	if err := lock(f); err != nil {
		if errors.Is(err, errWouldBlock) {
			return fail(fmt.Errorf("%w: %s is kept by another process", ErrInUse, path))
		}
		return fail(fmt.Errorf("statefile: lock %s: %w", path, err))
	}
	// Read under the lock: the state cannot move while it is read.
	data, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, 0, fileSize+1), fileSize+1))
	if err != nil {
		return fail(fmt.Errorf("statefile: read %s: %w", path, err))
	}
	sf := &stateFile{f: f, path: path, cur: -1}
	if len(data) == 0 {
		// Created now, or by a start that ended before its first write: no mark was ever
		// granted with it.
		sf.created = true
		return sf, nil, nil
	}
	pf, err := parseFile(data)
	if err != nil {
		return fail(fmt.Errorf("%w (file %s; move it away only if no ID was issued with its node values after its mark)", err, path))
	}
	sf.cur = pf.cur
	sf.seq = pf.slots[pf.cur].seq
	st := pf.slots[pf.cur].st
	return sf, &st, nil
}

// write records s in the slot that does not hold the current state, with the next sequence
// number, and syncs it; only then is the new slot the current one. A crash during the write leaves
// the current slot as it was. Before writing it checks that the path still names this file: a
// file deleted, renamed or replaced while in use would keep marks that no restart reads.
func (sf *stateFile) write(s State) error {
	if err := sf.same(); err != nil {
		return err
	}
	next := 0 // a new file starts in the first slot
	if sf.cur >= 0 {
		next = 1 - sf.cur
	}
	if _, err := sf.f.WriteAt(encodeSlot(sf.seq+1, s), int64(next*slotSize)); err != nil {
		return fmt.Errorf("statefile: write %s: %w", sf.path, err)
	}
	if err := sf.f.Sync(); err != nil {
		return fmt.Errorf("statefile: write %s: sync: %w", sf.path, err)
	}
	if sf.created {
		if err := syncDir(sf.f, sf.path); err != nil {
			return fmt.Errorf("statefile: write %s: sync its directory: %w", sf.path, err)
		}
		sf.created = false
	}
	sf.cur, sf.seq = next, sf.seq+1
	return nil
}

// same returns an error unless the path still names the open file (the same device and inode): an
// error wrapping ErrMoved when it names another file or nothing, another error when the path
// cannot be looked at now (its directory unreadable, say).
func (sf *stateFile) same() error {
	pi, err := os.Stat(sf.path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
		return fmt.Errorf("%w (%s: %w)", ErrMoved, sf.path, err)
	}
	if err != nil {
		return fmt.Errorf("statefile: cannot check that %s still names the state file: %w", sf.path, err)
	}
	fi, err := sf.f.Stat()
	if err != nil {
		return fmt.Errorf("statefile: %w", err)
	}
	if !os.SameFile(pi, fi) {
		return fmt.Errorf("%w (%s: renamed, deleted or replaced while in use)", ErrMoved, sf.path)
	}
	return nil
}

// close closes the file, which releases its lock.
func (sf *stateFile) close() error { return sf.f.Close() }

// syncDirectory syncs the directory d, where the platform allows it.
func syncDirectory(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// parentOf returns the directory part of path as text, without cleaning it ("a/b/../c" gives
// "a/b/.."), so that the kernel resolves it as it resolved path.
func parentOf(path string) string {
	i := len(path) - 1
	for i >= 0 && !os.IsPathSeparator(path[i]) {
		i--
	}
	switch {
	case i < 0:
		return "."
	case i == 0:
		return path[:1]
	}
	return path[:i]
}
