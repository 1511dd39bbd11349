package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/snowfall-go/snowfall/internal/testkit/aliases"
)

// TestStateFileHardLinkRace (issue 18, defect 2): a hard link made to a state file while a server
// keeps it, at any moment, must name the same file and meet the same lock. The shipped code checked
// the link count and then replaced the file by a rename: a link made between the two kept the old
// file under the second name, and a server started through it took another lock and issued the
// first server's IDs.
//
// The test links right after each write the server makes to the state file's directory (inotify),
// after an adaptive delay aimed between the check and the rename, and widens that window with a
// deep directory (the rename walks the long path twice; the link is made relative to an open
// directory and walks nothing). When the link lands and keeps another file than the state file, a
// second server is started through it. Linux only (inotify); bounded to about 10 s.
func TestStateFileHardLinkRace(t *testing.T) {
	exe := bin.Path(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	deep := dir + strings.Repeat("/d", 1500)
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(deep, "gen9.state")
	dfd, err := syscall.Open(deep, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dfd)
	ino, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(ino)
	if _, err := syscall.InotifyAddWatch(ino, deep, syscall.IN_CLOSE_WRITE|syscall.IN_MODIFY|syscall.IN_MOVED_TO); err != nil {
		t.Fatal(err)
	}
	inode := func(name string) uint64 {
		fi, err := os.Lstat(filepath.Join(deep, name))
		if err != nil {
			return 0
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	start := func() *aliases.Proc {
		s, err := aliases.Start(exe, "", nil, "--generator", "9", "--state-file", state)
		if err != nil {
			t.Fatalf("server: %s", strings.ReplaceAll(err.Error(), deep, dir+"/d/…/d"))
		}
		return s
	}
	a := start()
	defer func() { a.Kill() }()

	// The watcher links as soon as it sees a write end (a file closed after writing, or the state
	// file itself modified) and the delay has passed; the test then looks at what the link holds.
	var delay atomic.Int64
	delay.Store(int64(20 * time.Microsecond))
	var stop atomic.Bool
	linked := make(chan error)
	next := make(chan struct{})
	go func() {
		defer close(linked)
		buf := make([]byte, 64<<10)
		for range next {
			drain(ino, buf) // events from before the test looked at the last link
			var n int
			var err error
			for err == nil && !stop.Load() {
				if n, err = syscall.Read(ino, buf); err == nil && writeEnded(buf[:n], "gen9.state") {
					break
				}
			}
			if stop.Load() {
				break
			}
			if err != nil {
				linked <- err
				continue
			}
			for t0, d := time.Now(), time.Duration(delay.Load()); time.Since(t0) < d; {
			}
			linked <- linkat(dfd, "gen9.state", "hard")
		}
	}()
	defer func() {
		stop.Store(true)
		close(next)
		os.WriteFile(filepath.Join(deep, "wake"), []byte("x"), 0o644)
		for range linked {
		}
	}()

	var attempts, early, late int
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		next <- struct{}{}
		var err error
		select {
		case err = <-linked:
		case <-time.After(3 * time.Second):
			t.Fatalf("no write to the state file's directory for 3s; stderr %s", a.Stderr())
		}
		if err != nil {
			t.Fatal(err)
		}
		attempts++
		time.Sleep(5 * time.Millisecond) // let the write finish
		if inode("hard") == inode("gen9.state") {
			syscall.Unlinkat(dfd, "hard")
			// Either the file is written in place, or the link came after the rename, or the
			// server saw the link before its rename and stopped issuing: then restart it and
			// aim later.
			if _, err := a.Pull(t.Context(), 1); aliases.Unavailable(err) {
				early++
				delay.Add(delay.Load() / 4)
				a.Kill()
				a = start()
			} else if err != nil {
				t.Fatal(err)
			} else {
				late++
				delay.Add(-delay.Load() / 8)
			}
			continue
		}
		// The link kept the state file's old contents under a second name.
		b, err := aliases.Start(exe, "", nil, "--generator", "9", "--state-file", filepath.Join(deep, "hard"))
		var refused *aliases.Refusal
		if errors.As(err, &refused) {
			t.Logf("attempt %d: the link kept another file, and a server through it was refused: %v", attempts, refused)
		} else if err != nil {
			t.Fatal(err)
		} else {
			shared, total := common(t, a, b, 5, 20000)
			b.Kill()
			t.Fatalf("attempt %d: a hard link made while the server wrote its state file kept another file; a second server "+
				"started through it and issued %d of the first server's IDs (of %d pulled); %d links landed before the check, %d after the write",
				attempts, shared, total, early, late)
		}
		syscall.Unlinkat(dfd, "hard")
	}
	t.Logf("%d links made during writes (%d before the check, %d after the write), final delay %v",
		attempts, early, late, time.Duration(delay.Load()))

	// A hard link made at rest meets the same lock.
	if err := linkat(dfd, "gen9.state", "hard"); err != nil {
		t.Fatal(err)
	}
	_, err = aliases.Start(exe, "", nil, "--generator", "9", "--state-file", filepath.Join(deep, "hard"))
	if refused := (*aliases.Refusal)(nil); !errors.As(err, &refused) || refused.Code != 1 {
		t.Errorf("second server through a hard link: %v, want a refusal", err)
	}
}

// TestSQLiteFileBindMount (found by the alias search): a bind mount of the SQLite database file
// itself (docker run -v /srv/leases.db:/data/leases.db) is one more name of the file, with a
// directory of its own, where SQLite keeps a write-ahead log of its own: a server opening the
// file through the mount and one opening it through its own directory both leased generator 0 and
// issued the same IDs. The server through the mount must refuse.
func TestSQLiteFileBindMount(t *testing.T) {
	if err := exec.Command("unshare", "-m", "--propagation", "private", "true").Run(); err != nil {
		t.Fatalf("this test needs unshare -m (root, or a user namespace): %v", err)
	}
	exe := bin.Path(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"srv", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "srv", "leases.db")
	mnt := filepath.Join(dir, "data", "leases.db")
	if err := os.WriteFile(mnt, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := aliases.Start(exe, "", nil, "--db", "sqlite://"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Kill()
	b, err := aliases.StartWrapped([]string{"unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$0" "$1" && shift && exec "$@"`, db, mnt}, exe, "", nil, "--db", "sqlite://"+mnt)
	var refused *aliases.Refusal
	if errors.As(err, &refused) {
		if refused.Code != 2 || !strings.Contains(refused.Stderr, "mount") {
			t.Errorf("server through the bind mount: exit %d, stderr %q; want 2, naming the mount", refused.Code, refused.Stderr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Kill()
	shared, total := common(t, a, b, 3, 20000)
	ga, _ := a.Generator(t.Context())
	gb, _ := b.Generator(t.Context())
	t.Errorf("servers on %s and on a bind mount of it both started: generator ids %d and %d, %d IDs in common of %d", db, ga, gb, shared, total)
}

// writeEnded reports whether the inotify events in b hold the end of a write: a file closed after
// writing, or the file name modified.
func writeEnded(b []byte, name string) bool {
	for len(b) >= syscall.SizeofInotifyEvent {
		ev := (*syscall.InotifyEvent)(unsafe.Pointer(&b[0]))
		n := int(ev.Len)
		if len(b) < syscall.SizeofInotifyEvent+n {
			return false
		}
		got := strings.TrimRight(string(b[syscall.SizeofInotifyEvent:syscall.SizeofInotifyEvent+n]), "\x00")
		if ev.Mask&syscall.IN_CLOSE_WRITE != 0 || (ev.Mask&syscall.IN_MODIFY != 0 && got == name) {
			return true
		}
		b = b[syscall.SizeofInotifyEvent+n:]
	}
	return false
}

// linkat links old to new, both relative to the directory dfd, without walking a path.
func linkat(dfd int, old, new string) error {
	p, err := syscall.BytePtrFromString(old)
	if err != nil {
		return err
	}
	q, err := syscall.BytePtrFromString(new)
	if err != nil {
		return err
	}
	_, _, errno := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(dfd), uintptr(unsafe.Pointer(p)), uintptr(dfd), uintptr(unsafe.Pointer(q)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// drain reads the inotify events already queued.
func drain(fd int, buf []byte) {
	syscall.SetNonblock(fd, true)
	defer syscall.SetNonblock(fd, false)
	for {
		if _, err := syscall.Read(fd, buf); err != nil {
			return
		}
	}
}
