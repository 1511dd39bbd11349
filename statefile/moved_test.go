//go:build unix

package statefile

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// moves are the ways a state file's path can stop naming the file a running source holds.
var moves = []struct {
	name string
	move func(t *testing.T, path string)
}{
	{"renamed", func(t *testing.T, path string) { mustDo(t, os.Rename(path, path+".moved")) }},
	{"deleted", func(t *testing.T, path string) { mustDo(t, os.Remove(path)) }},
	{"replaced by an empty file", func(t *testing.T, path string) {
		mustDo(t, os.WriteFile(path+".new", nil, 0o600))
		mustDo(t, os.Rename(path+".new", path))
	}},
	{"replaced by an older copy", func(t *testing.T, path string) {
		b, err := os.ReadFile(path) // a backup, restored once the mark has moved on
		mustDo(t, err)
		time.Sleep(2 * testAhead)
		mustDo(t, os.WriteFile(path+".new", b, 0o600))
		mustDo(t, os.Rename(path+".new", path))
	}},
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// pull takes IDs from s until end, in batches, skipping the moments it cannot issue (a fence, a
// clock behind its floor), and returns them.
func pull(s *Source, end time.Time) []snowfall.ID {
	var out []snowfall.ID
	buf := make([]snowfall.ID, 64)
	for time.Now().Before(end) {
		n, _ := s.Fill(context.Background(), buf)
		out = append(out, buf[:n]...)
		if n < len(buf) {
			time.Sleep(200 * time.Microsecond)
		}
	}
	return out
}

// TestPathMovedWhileRunning: a server A keeps a state file; its path is renamed, deleted or
// replaced; a server B with the same generator starts on the path (a fresh file, or a copy with
// an older mark) and takes that file's lock. One real file, one lock: A must stop at its last
// recorded mark, and B must start above anything A may still issue, so that they share no ID and
// every ID A issues is below every ID B issues.
func TestPathMovedWhileRunning(t *testing.T) {
	for _, m := range moves {
		t.Run(m.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			a := open(t, path, nil)
			issue(t, a, testAhead)
			m.move(t, path)
			b, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead})
			if err != nil {
				t.Fatalf("Open on the moved path: %v", err)
			}
			defer b.Close()
			end := time.Now().Add(6 * testAhead)
			var idsA, idsB []snowfall.ID
			var wg sync.WaitGroup
			wg.Go(func() { idsA = pull(a, end) })
			wg.Go(func() { idsB = pull(b, end) })
			wg.Wait()
			seen := make(map[snowfall.ID]bool, len(idsA))
			var maxA snowfall.ID
			for _, id := range idsA {
				seen[id] = true
				maxA = max(maxA, id)
			}
			shared := 0
			minB := snowfall.ID(-1)
			for _, id := range idsB {
				if seen[id] {
					shared++
				}
				if minB < 0 || id < minB {
					minB = id
				}
			}
			t.Logf("A issued %d IDs after the move, B %d; shared %d", len(idsA), len(idsB), shared)
			if len(idsB) == 0 {
				t.Fatal("B issued nothing")
			}
			if shared > 0 {
				t.Errorf("%d IDs issued by both A and B", shared)
			}
			if len(idsA) > 0 && maxA >= minB {
				t.Errorf("A issued %d, not below B's first ID %d", maxA, minB)
			}
		})
	}
}

// TestPathMovedAndBack: A's file is renamed away (A sees it and stops), B starts on the path with
// a fresh file, then A's file is renamed back over B's. A must not issue again: B may have issued
// at times A would now reach, and A cannot know. B, whose file is gone, stops at its mark too.
func TestPathMovedAndBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	a := open(t, path, nil)
	issue(t, a, testAhead)
	mustDo(t, os.Rename(path, path+".moved"))
	time.Sleep(2 * testAhead) // A's loop sees the move
	b, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead})
	if err != nil {
		t.Fatalf("Open on the moved path: %v", err)
	}
	defer b.Close()
	idsB := pull(b, time.Now().Add(4*testAhead))
	mustDo(t, os.Rename(path+".moved", path))
	end := time.Now().Add(6 * testAhead)
	var idsA, moreB []snowfall.ID
	var wg sync.WaitGroup
	wg.Go(func() { idsA = pull(a, end) })
	wg.Go(func() { moreB = pull(b, end) })
	wg.Wait()
	idsB = append(idsB, moreB...)
	if len(idsB) == 0 {
		t.Fatal("B issued nothing")
	}
	seen := map[snowfall.ID]bool{}
	for _, id := range idsB {
		seen[id] = true
	}
	shared := 0
	for _, id := range idsA {
		if seen[id] {
			shared++
		}
	}
	t.Logf("A issued %d IDs after its file came back (B %d in all); shared %d", len(idsA), len(idsB), shared)
	if len(idsA) > 0 {
		t.Errorf("A issued %d IDs after its file was renamed away and back (%d shared with B)", len(idsA), shared)
	}
}

// TestPathMovedSaidOnce: a source whose path names another file says so once, at error level, not
// at every tick of its loop.
func TestPathMovedSaidOnce(t *testing.T) {
	var buf lockedBuffer
	path := filepath.Join(t.TempDir(), "state")
	s, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead,
		Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustDo(t, os.Remove(path))
	time.Sleep(10 * testAhead / 4) // ten ticks
	s.Close()
	out := buf.String()
	if n := strings.Count(out, "names another file now"); n != 1 || !strings.Contains(out, "level=ERROR") {
		t.Errorf("said %d times, want once at error level:\n%s", n, out)
	}
	if _, err := s.NextContext(context.Background()); err == nil {
		t.Error("issued after Close")
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPathSwappedBackQuickly: A's file is renamed away, B starts on the path with a fresh file, and
// A's file is renamed back at once, before A's next check of its path: A never sees the move and
// issues on. B, whose path no longer names its file at its first check, must issue nothing: the
// mark it recorded at start is no licence to issue.
func TestPathSwappedBackQuickly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	a := open(t, path, nil)
	issue(t, a, testAhead)
	mustDo(t, os.Rename(path, path+".moved"))
	b, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead})
	mustDo(t, os.Rename(path+".moved", path))
	if err != nil {
		t.Fatalf("Open on the moved path: %v", err)
	}
	defer b.Close()
	end := time.Now().Add(StartWait(testAhead) + 3*testAhead)
	var idsA, idsB []snowfall.ID
	var wg sync.WaitGroup
	wg.Go(func() { idsA = pull(a, end) })
	wg.Go(func() { idsB = pull(b, end) })
	wg.Wait()
	seen := map[snowfall.ID]bool{}
	for _, id := range idsA {
		seen[id] = true
	}
	shared := 0
	for _, id := range idsB {
		if seen[id] {
			shared++
		}
	}
	t.Logf("A issued %d IDs, B %d; shared %d", len(idsA), len(idsB), shared)
	if len(idsB) > 0 {
		t.Errorf("B issued %d IDs (%d shared with A) though its path named A's file again before its first ID", len(idsB), shared)
	}
}
