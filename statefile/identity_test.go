//go:build unix

package statefile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestResolve: every name that reaches a file through symbolic links resolves to the file's one
// real name; a dangling link resolves to its target (a first start creates it there); loops, FIFOs
// and hard-linked files are refused.
func TestResolve(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(dir, "real.state")
	if err := os.WriteFile(real, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("real.state", filepath.Join(dir, "rel")))                // relative
	must(os.Symlink(filepath.Join(dir, "rel"), filepath.Join(dir, "chain"))) // a link to a link
	must(os.Symlink(dir, filepath.Join(dir, "dirlink")))
	must(os.Symlink("new.state", filepath.Join(dir, "dangling")))
	for name, want := range map[string]string{
		real:                                   real,
		filepath.Join(dir, "rel"):              real,
		filepath.Join(dir, "chain"):            real,
		filepath.Join(dir, "dirlink", "chain"): real,
		filepath.Join(dir, "dangling"):         filepath.Join(dir, "new.state"),
		filepath.Join(dir, "missing.state"):    filepath.Join(dir, "missing.state"),
	} {
		if got, err := resolve(name); err != nil || got != want {
			t.Errorf("resolve(%s) = %q, %v; want %q", name, got, err, want)
		}
	}

	must(os.Symlink("loop2", filepath.Join(dir, "loop1")))
	must(os.Symlink("loop1", filepath.Join(dir, "loop2")))
	must(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	must(os.Link(real, filepath.Join(dir, "hard")))
	for name, want := range map[string]string{
		"loop1": "symbolic links",
		"fifo":  "not a regular file",
		"hard":  "2 hard links",
		"rel":   "2 hard links", // the file itself now has two names
	} {
		if _, err := resolve(filepath.Join(dir, name)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("resolve(%s) = %v, want an error saying %q", name, err, want)
		}
	}
}
