//go:build unix

package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/aliases"
)

// common pulls rounds batches of n IDs from a and b at the same time and returns how many IDs
// both issued, of how many pulled.
func common(t *testing.T, a, b *aliases.Server, rounds, n int) (shared, total int) {
	t.Helper()
	var got [2][]int64
	var errs [2]error
	for range rounds {
		var wg sync.WaitGroup
		for i, s := range []*aliases.Server{a, b} {
			wg.Go(func() {
				ids, err := s.Pull(context.Background(), n)
				got[i] = append(got[i], ids...)
				if errs[i] == nil {
					errs[i] = err
				}
			})
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull from server %d: %v", i, err)
		}
	}
	seen := map[int64]bool{}
	for _, id := range got[0] {
		seen[id] = true
	}
	for _, id := range got[1] {
		if seen[id] {
			shared++
		}
	}
	return shared, len(got[0]) + len(got[1])
}

// TestStateFileAliases (issue 18, defect 1): a second serve process reaching a state file in use
// through another spelling of its path (".." after a symlinked directory, a relative symlink whose
// target starts with "..") must be refused, and a restart through that spelling must read the
// recorded floor. The shipped guard resolved the path as text, so both servers started and issued
// the same IDs, and the restart read a missing file.
func TestStateFileAliases(t *testing.T) {
	exe := bin.Path(t)
	// tree makes a directory holding a/gen7.state's directory, a symlink dirlink to a/b, and
	// a/b/rel, a relative symlink to ../gen7.state; it returns the directory and the real path.
	tree := func(t *testing.T) (string, string) {
		base, err := filepath.EvalSymlinks(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{
			os.MkdirAll(filepath.Join(base, "a", "b"), 0o755),
			os.Symlink(filepath.Join(base, "a", "b"), filepath.Join(base, "dirlink")),
			os.Symlink("../gen7.state", filepath.Join(base, "a", "b", "rel")),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		return base, filepath.Join(base, "a", "gen7.state")
	}
	for _, c := range []struct{ name, alias string }{
		{"dotdot after a symlinked directory", "dirlink/../gen7.state"},
		{"relative symlink with dotdot in a symlinked directory", "dirlink/rel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base, real := tree(t)
			alias := base + "/" + c.alias
			a, err := aliases.Start(exe, "", nil, "--generator", "7", "--state-file", real)
			if err != nil {
				t.Fatalf("first server: %v", err)
			}
			defer a.Kill()
			b, err := aliases.Start(exe, "", nil, "--generator", "7", "--state-file", alias)
			var refused *aliases.Refusal
			switch {
			case errors.As(err, &refused):
				if refused.Code != 1 || !strings.Contains(refused.Stderr, "in use") {
					t.Errorf("second server through %s: exit %d, stderr %q; want 1, in use", alias, refused.Code, refused.Stderr)
				}
			case err != nil:
				t.Fatal(err)
			default:
				shared, total := common(t, a, b, 5, 20000)
				b.Kill()
				t.Errorf("second server through %s started while the first kept %s: %d IDs issued by both, of %d",
					alias, real, shared, total)
			}
			if err := a.Stop(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(c.name+" restart", func(t *testing.T) {
			// A restart through the alias with its clock 5 s behind must not issue below the
			// floor the first server recorded.
			base, real := tree(t)
			alias := base + "/" + c.alias
			a, err := aliases.Start(exe, "", nil, "--generator", "7", "--state-file", real)
			if err != nil {
				t.Fatalf("first server: %v", err)
			}
			if _, err := a.Pull(context.Background(), 1000); err != nil {
				t.Fatal(err)
			}
			if err := a.Stop(); err != nil {
				t.Fatal(err)
			}
			r, err := aliases.Start(exe, "", nil, "--generator", "7", "--state-file", alias, "--clock-offset", "-5s")
			if err != nil {
				t.Fatalf("restart through %s: %v", alias, err)
			}
			defer r.Kill()
			if ids, err := r.Pull(context.Background(), 1); !aliases.Unavailable(err) {
				t.Errorf("restart through %s with the clock 5s behind: %v %v; want 503 (the recorded floor is ahead)", alias, ids, err)
			}
		})
	}
}
