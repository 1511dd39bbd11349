//go:build unix

package statefile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

// aliasTree makes, under a new directory, the real file a/state (not yet created) and the names
// that reach it: it returns the real path and the aliases by name.
func aliasTree(t *testing.T) (string, map[string]string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(base, "a", "b"), 0o755))
	real := filepath.Join(base, "a", "state")
	must(os.Symlink(filepath.Join(base, "a", "b"), filepath.Join(base, "dirlink")))
	must(os.Symlink("../state", filepath.Join(base, "a", "b", "rel")))
	must(os.Symlink(real, filepath.Join(base, "abs")))
	must(os.Symlink("dirlink/rel", filepath.Join(base, "chain")))
	return real, map[string]string{
		"symlink":                           filepath.Join(base, "abs"),
		"dotdot after a symlinked dir":      base + "/dirlink/../state",
		"relative symlink with dotdot":      base + "/dirlink/rel",
		"chain of relative symlinks":        base + "/chain",
		"dot and duplicate separators":      base + "//a/./b/..//state",
		"symlinked dir, dotdot twice":       base + "/dirlink/../../a/state",
		"dotdot through two symlinked dirs": base + "/dirlink/../b/../../dirlink/../state",
	}
}

// TestAliasesMeetOneLock (issue 18, defects 1 and 2): every name of a state file opens the same
// file, meets its lock while a source keeps it, and reads its floor after a restart; a hard link
// made at any time is one more such name.
func TestAliasesMeetOneLock(t *testing.T) {
	real, names := aliasTree(t)
	first := open(t, real, nil)
	issue(t, first, testAhead)
	hard := filepath.Join(filepath.Dir(real), "hard")
	if err := os.Link(real, hard); err != nil { // while the source writes
		t.Fatal(err)
	}
	names["hard link made while in use"] = hard
	issue(t, first, testAhead) // the hard link does not stop it: it is the same file
	for name, path := range names {
		if other, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}}); !errors.Is(err, ErrInUse) {
			if other != nil {
				other.Close()
			}
			t.Errorf("%s (%s): Open while another source keeps the file: %v, want ErrInUse", name, path, err)
		}
	}
	first.Close()
	mark := first.Mark()
	for name, path := range names {
		s, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Clock: snowfall.OffsetClock(-5 * time.Second),
			MaxBackwards: -1, Ahead: testAhead})
		if err != nil {
			t.Fatalf("%s: reopen: %v", name, err)
		}
		if got := s.Mark(); got.Before(mark) {
			t.Errorf("%s (%s): reopened with mark %v, below the recorded %v", name, path, got, mark)
		}
		if id, err := s.NextContext(context.Background()); err == nil {
			t.Errorf("%s: issued %d with a clock 5s behind the recorded mark", name, id)
		}
		s.Close()
	}
	fi, err := os.Lstat(real)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("real file: %v %v", fi, err)
	}
	if st, err := Read(hard); err != nil || !st.Mark.Equal(mark) {
		t.Errorf("Read through the hard link: %v %v, want the mark %v", st.Mark, err, mark)
	}
}

// TestUpgradeVersion1: a state file of the previous format is read, and upgraded in place without
// ever leaving the file without a readable mark.
func TestUpgradeVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	l := snowfall.DefaultLayout()
	old := State{Layout: l, Node: snowfall.Node{Generator: 5}, Mark: time.Now().Add(2 * time.Second).Truncate(time.Millisecond).UTC()}
	v1 := legacyText(old)
	if err := os.WriteFile(path, v1, 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err := Read(path); err != nil || !sameState(st, old) {
		t.Fatalf("Read of a version 1 file: %+v %v", st, err)
	}
	// The first write goes to the second slot; the version 1 text stays where it was.
	f, st, err := openFile(path, nil)
	if err != nil || st == nil || !sameState(*st, old) {
		t.Fatalf("openFile: %+v %v", st, err)
	}
	next := old
	next.Mark = old.Mark.Add(time.Second)
	if err := f.write(next); err != nil {
		t.Fatal(err)
	}
	f.close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != fileSize || !bytes.HasPrefix(data, v1) {
		t.Fatalf("after the first write: %d bytes, version 1 text kept: %v", len(data), bytes.HasPrefix(data, v1))
	}
	if st, err := Parse(data); err != nil || !sameState(st, next) {
		t.Fatalf("after the first write: %+v %v, want %+v", st, err, next)
	}
	// A crash in the middle of that write: the version 1 text is read.
	torn := bytes.Clone(data)
	clear(torn[slotSize+50:])
	if st, err := Parse(torn); err != nil || !sameState(st, old) {
		t.Errorf("upgrade torn: %+v %v, want the version 1 state", st, err)
	}

	// A source upgrades the file as it runs, and restarts above the version 1 mark.
	old.Mark = time.Now().Add(testAhead / 2).Truncate(time.Millisecond).UTC()
	if err := os.WriteFile(path, legacyText(old), 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, path, nil)
	if got := s.Mark(); got.Before(old.Mark) {
		t.Fatalf("mark %v below the version 1 mark %v", got, old.Mark)
	}
	id, err := s.NextContext(context.Background())
	if err == nil {
		if p, _ := l.Decode(id); !p.Time.After(old.Mark) {
			t.Errorf("ID at %v, not above the version 1 mark %v", p.Time, old.Mark)
		}
	}
	time.Sleep(3 * testAhead) // a few more writes: both slots are version 2 now
	s.Close()
	data, _ = os.ReadFile(path)
	if bytes.Contains(data, []byte("snowfall-state 1")) || bytes.Count(data, []byte("snowfall-state 2")) != 2 {
		t.Errorf("after a few writes the file still holds the version 1 text:\n%q", data)
	}
}

// TestUpgradeShippedFile: a state file the previous release wrote (testdata/version1.state, by
// snowfall serve --generator 5 at commit 86bca99) is read, and a source restarted on it with its
// clock behind issues nothing until the clock passes its mark, then upgrades it in place.
func TestUpgradeShippedFile(t *testing.T) {
	v1, err := os.ReadFile("testdata/version1.state")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(v1)
	if err != nil || want.Node.Generator != 5 || want.Mark.UnixMilli() != 1796588396819 {
		t.Fatalf("Parse(version 1 file) = %+v, %v", want, err)
	}
	path := filepath.Join(t.TempDir(), "gen5.state")
	if err := os.WriteFile(path, v1, 0o600); err != nil {
		t.Fatal(err)
	}
	// The clock at the file's mark, less a second: refused until it passes the mark.
	c := fakeclock.Following(time.Until(want.Mark.Add(-time.Second)))
	s, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Clock: c, MaxBackwards: -1, Ahead: testAhead})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if id, err := s.NextContext(context.Background()); err == nil {
		t.Fatalf("issued %d with the clock a second behind the version 1 mark", id)
	}
	c.SetOffset(time.Until(want.Mark.Add(time.Second)))
	time.Sleep(testAhead)
	id, err := s.NextContext(context.Background())
	if err != nil {
		t.Fatalf("once the clock passed the mark: %v", err)
	}
	if p, _ := s.Layout().Decode(id); !p.Time.After(want.Mark) {
		t.Errorf("ID at %v, not above the version 1 mark %v", p.Time, want.Mark)
	}
	s.Close()
	data, _ := os.ReadFile(path)
	if len(data) != fileSize {
		t.Errorf("the file was not upgraded: %d bytes", len(data))
	}
	if st, err := Parse(data); err != nil || !st.Mark.After(want.Mark) {
		t.Errorf("after the upgrade: %+v %v", st, err)
	}
}

// TestEmptyFileIsFirstStart: an empty file (a start that ended before its first write) is a first
// start; so is a missing file, created in place.
func TestEmptyFileIsFirstStart(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{empty, filepath.Join(dir, "missing")} {
		s := open(t, path, nil)
		issue(t, s, testAhead)
		s.Close()
		if st, err := Read(path); err != nil || st.Node.Generator != 5 {
			t.Errorf("%s: %+v %v", path, st, err)
		}
	}
}

// TestPathNoLongerNamesFile: a state file deleted or replaced while in use stops the mark (IDs
// stop at the recorded one) instead of recording marks no restart would read.
func TestPathNoLongerNamesFile(t *testing.T) {
	for _, how := range []string{"deleted", "replaced"} {
		t.Run(how, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			s := open(t, path, nil)
			issue(t, s, testAhead)
			if how == "deleted" {
				os.Remove(path)
			} else {
				if err := os.WriteFile(path+".new", nil, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(path+".new", path); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(10 * testAhead)
			for {
				_, err := s.NextContext(context.Background())
				if errors.Is(err, ErrNotRecorded) {
					if !strings.Contains(err.Error(), "no longer names") {
						t.Errorf("error %q does not say the path no longer names the file", err)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("still issuing (%v) after the state file was %s", err, how)
				}
				time.Sleep(testAhead / 10)
			}
		})
	}
}

// TestNotRegularFile: a FIFO or a device is refused at once.
func TestNotRegularFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/null"} {
		start := time.Now()
		s, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}})
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v, want a refusal saying it is not a regular file", path, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: refusing took %v", path, d)
		}
	}
}

func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	want := validState(t)
	for range 3 {
		want.Mark = want.Mark.Add(time.Second)
		if err := Write(path, want); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if !sameState(got, want) {
			t.Errorf("Read = %+v, want %+v", got, want)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the state file (no temporary, no lock file)", len(entries))
	}
}
