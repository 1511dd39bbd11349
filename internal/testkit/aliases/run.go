package aliases

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// How many IDs a case pulls from each server: rounds batches of batch IDs, from both servers at
// once, so that two servers issuing in the same milliseconds with one generator id show shared IDs.
const (
	rounds = 3
	batch  = 5000
)

// Outcome is what a case found.
type Outcome struct {
	Case      *Case
	Refused   string   // which server refused or could not issue, and why; "" when both issued
	Gens      [2]int64 // the generator ids /stats showed
	IDs       int      // distinct IDs pulled from both
	Shared    int      // IDs both servers issued
	Violation string   // what broke the rule; "" when nothing did
}

// Failed reports whether the case broke the rule: the second server started and issued, with the
// first server's generator id or some of its IDs (or, after a restart, below the first's IDs).
func (o *Outcome) Failed() bool { return o.Violation != "" }

// Run starts the case's two servers with the snowfall executable exe, pulls IDs and judges them:
// the second must refuse, or hold another generator id, or share no ID with the first. root is the
// case's directory (the working directory of a server whose spelling is absolute). An error is a
// failure of the harness, not of the servers.
func Run(ctx context.Context, exe string, c *Case, root string, e Env) (*Outcome, error) {
	o := &Outcome{Case: c}
	a, err := startServer(exe, root, c.A, e.Vars)
	var refused *Refusal
	if errors.As(err, &refused) {
		o.Refused = "A refused: " + firstLine(refused.Stderr)
		return o, nil
	}
	if err != nil {
		return nil, err
	}
	defer a.Kill()
	ids := [2]map[int64]bool{{}, {}}
	var maxA int64
	if c.Restart {
		// A issues, stops; B starts with its clock set back to A's first ID.
		began := time.Now()
		got, err := a.Pull(ctx, batch)
		if err != nil {
			o.Refused = "A could not issue: " + err.Error()
			return o, nil
		}
		for _, id := range got {
			ids[0][id] = true
			maxA = max(maxA, id)
		}
		if o.Gens[0], err = a.Generator(ctx); err != nil {
			return nil, err
		}
		if err := a.Stop(); err != nil {
			return nil, err
		}
		back := time.Since(began) + 200*time.Millisecond
		c.B.Args = append(c.B.Args[:len(c.B.Args):len(c.B.Args)], "--clock-offset", "-"+back.Round(time.Millisecond).String())
	}
	if c.Move != "" {
		if err := move(ctx, c, root, a, ids[0]); err != nil {
			return nil, err
		}
	}
	if c.B.Link[1] != "" {
		err := os.Link(c.B.Link[0], c.B.Link[1])
		if errors.Is(err, fs.ErrNotExist) {
			// A started, yet the file its spelling names is not there: A keeps its leases in
			// no file at that path (a process-local store), which no other server can share.
			o.Violation = fmt.Sprintf("A started with no file at %s: its lease store is not the file it names", c.B.Link[0])
			return o, nil
		}
		if err != nil {
			return nil, fmt.Errorf("make the hard link: %w", err)
		}
	}
	b, err := startServer(exe, root, c.B, e.Vars)
	if errors.As(err, &refused) {
		o.Refused = "B refused: " + firstLine(refused.Stderr)
		return o, nil
	}
	if err != nil {
		return nil, err
	}
	defer b.Kill()
	procs := []*Proc{a, b}
	if c.Restart {
		procs[0] = nil
	}
	var mu sync.Mutex
	var pullErr [2]error
	for range rounds {
		var wg sync.WaitGroup
		for i, p := range procs {
			if p == nil {
				continue
			}
			wg.Go(func() {
				got, err := p.Pull(ctx, batch)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && pullErr[i] == nil {
					pullErr[i] = err
				}
				for _, id := range got {
					ids[i][id] = true
				}
			})
		}
		wg.Wait()
	}
	for i, p := range procs {
		if p == nil {
			continue
		}
		g, err := p.Generator(ctx)
		if err != nil {
			return nil, err
		}
		o.Gens[i] = g
	}
	for id := range ids[1] {
		if ids[0][id] {
			o.Shared++
		}
	}
	o.IDs = len(ids[0]) + len(ids[1]) - o.Shared
	switch {
	case o.Shared > 0:
		o.Violation = fmt.Sprintf("%d IDs issued by both servers", o.Shared)
	case len(ids[1]) == 0:
		o.Refused = "B could not issue: " + errString(pullErr[1])
	case c.Restart && o.Gens[0] == o.Gens[1] && minKey(ids[1]) <= maxA:
		o.Violation = fmt.Sprintf("after a restart on generator id %d, B issued an ID not above A's last", o.Gens[1])
	case c.Move != "" && len(ids[0]) > 0 && o.Gens[0] == o.Gens[1] && maxKey(ids[0]) >= minKey(ids[1]):
		o.Violation = fmt.Sprintf("after its state file was %s, A issued %d, not below B's first ID %d on generator id %d",
			c.Move, maxKey(ids[0]), minKey(ids[1]), o.Gens[0])
	case c.Move != "":
		// Both may hold one generator id now: A stops at its recorded mark, B starts above it.
	case !c.Restart && len(ids[0]) > 0 && o.Gens[0] == o.Gens[1]:
		o.Violation = fmt.Sprintf("both servers ran with generator id %d", o.Gens[0])
	}
	if pullErr[0] != nil && !Unavailable(pullErr[0]) {
		return nil, fmt.Errorf("pull from A: %w", pullErr[0])
	}
	if pullErr[1] != nil && !Unavailable(pullErr[1]) {
		return nil, fmt.Errorf("pull from B: %w", pullErr[1])
	}
	return o, nil
}

// startServer starts s with the environment variables vars added, in its working directory (or
// root) and, for a bind mount, in a mount namespace of its own.
func startServer(exe, root string, s Server, vars []string) (*Proc, error) {
	dir := s.Dir
	if dir == "" {
		dir = root
	}
	var wrap []string
	if s.Bind[1] != "" {
		wrap = []string{"unshare", "-m", "--propagation", "private", "sh", "-c",
			`mount --bind "$0" "$1" && shift && exec "$@"`, s.Bind[0], s.Bind[1]}
	}
	p, err := start(wrap, exe, dir, vars, s.Args)
	if err != nil {
		return nil, err
	}
	return p.ready()
}

// move does c.Move to A's state file while A runs: A first issues a batch (into ids), and for an
// older copy the file is copied before that batch and put back after a mark or two more.
func move(ctx context.Context, c *Case, root string, a *Proc, ids map[int64]bool) error {
	old, err := os.ReadFile(c.File)
	if errors.Is(err, fs.ErrNotExist) {
		// A keeps its file somewhere else than the path names (a build that resolves paths as
		// text, such as the shipped guard of TestFindsShippedDefects): nothing to move, and the
		// case is an alias case.
		c.Made = append(c.Made, "no move: A keeps no file at "+c.File)
		c.Move = ""
		return nil
	}
	if err != nil {
		return fmt.Errorf("read A's state file: %w", err)
	}
	got, err := a.Pull(ctx, batch)
	if err != nil && !Unavailable(err) {
		return fmt.Errorf("pull from A: %w", err)
	}
	for _, id := range got {
		ids[id] = true
	}
	time.Sleep(300 * time.Millisecond) // A records a mark or two more (every Ahead/4)
	switch c.Move {
	case MoveRename:
		err = os.Rename(c.File, c.File+".moved")
	case MoveRenameOther:
		other := filepath.Join(root, "elsewhere")
		if err = os.MkdirAll(other, 0o755); err == nil {
			err = os.Rename(c.File, filepath.Join(other, filepath.Base(c.File)))
		}
	case MoveDelete:
		err = os.Remove(c.File)
	case MoveEmpty, MoveOlderCopy:
		if c.Move == MoveEmpty {
			old = nil
		}
		if err = os.WriteFile(c.File+".new", old, 0o600); err == nil {
			err = os.Rename(c.File+".new", c.File)
		}
	}
	if err != nil {
		return fmt.Errorf("state file %s: %w", c.Move, err)
	}
	return nil
}

func maxKey(m map[int64]bool) int64 {
	var hi int64
	for k := range m {
		hi = max(hi, k)
	}
	return hi
}

func minKey(m map[int64]bool) int64 {
	first := true
	var lo int64
	for k := range m {
		if first || k < lo {
			lo, first = k, false
		}
	}
	return lo
}

func errString(err error) string {
	if err == nil {
		return "no IDs"
	}
	return err.Error()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "snowfall:") { // the error line, after any log lines
			return l
		}
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Summary counts the outcomes of a search.
type Summary struct {
	Cases, Refused, IDs, Shared, Failed int
	Kinds                               map[string]int
	Elapsed                             time.Duration
}

// Add counts o.
func (s *Summary) Add(o *Outcome) {
	s.Cases++
	if o.Refused != "" {
		s.Refused++
	}
	s.IDs += o.IDs
	s.Shared += o.Shared
	if o.Failed() {
		s.Failed++
	}
	if s.Kinds == nil {
		s.Kinds = map[string]int{}
	}
	s.Kinds[o.Case.Kind]++
}

// String is the summary line: aliases: cases=N refused=N distinct_ids=N shared_ids=N.
func (s Summary) String() string {
	return fmt.Sprintf("aliases: cases=%d refused=%d distinct_ids=%d shared_ids=%d", s.Cases, s.Refused, s.IDs, s.Shared)
}

// caseDir makes the directory of a case under dir, with no symbolic link in its path.
func caseDir(dir string, seed uint64) (string, error) {
	d := filepath.Join(dir, fmt.Sprintf("case%d", seed))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(d)
}
