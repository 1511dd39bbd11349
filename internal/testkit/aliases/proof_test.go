//go:build aliasproof

package aliases

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// TestFindsShippedDefects proves that the search can see: it builds snowfall with the shipped
// guards of issue 18 put back (testdata/shipped, through go build -overlay: no switch in production
// code) and asserts that the CI-sized search finds defect 1 (two servers on one state file through
// two spellings) and defect 3 (a process-local SQLite spelling the shipped guard let through).
func TestFindsShippedDefects(t *testing.T) {
	exe := shippedBinary(t)
	found := map[string]*Outcome{}
	at := map[string]int{}
	n := 0
	sum, _ := search(t, exe, func(o *Outcome) bool {
		n++
		if !o.Failed() {
			return false
		}
		d := ""
		switch o.Case.Kind {
		case KindStateFile:
			if o.Case.Move != "" {
				return false // another defect: see TestFindsMovedDefect
			}
			d = "defect 1 (state file aliases)"
		case KindLocal:
			d = "defect 3 (process-local SQLite by spelling)"
		}
		if d != "" && found[d] == nil {
			found[d], at[d] = o, n
		}
		return len(found) == 2
	})
	t.Logf("%s (shipped guards)", sum)
	for _, d := range []string{"defect 1 (state file aliases)", "defect 3 (process-local SQLite by spelling)"} {
		o := found[d]
		if o == nil {
			t.Errorf("%s not found in %d cases", d, sum.Cases)
			continue
		}
		t.Logf("%s found at case %d: %s\n  %s", d, at[d], o.Case, o.Violation)
	}
}

// shippedBinary builds snowfall with the files of testdata/shipped in place of their namesakes
// (a file of the package with no namesake there is left out) and returns its path.
func shippedBinary(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := filepath.Abs("testdata/shipped")
	if err != nil {
		t.Fatal(err)
	}
	replace := map[string]string{}
	// statefile: the whole package as shipped.
	cur, err := filepath.Glob(filepath.Join(root, "statefile", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range cur {
		if !strings.HasSuffix(f, "_test.go") {
			replace[f] = "" // left out unless shipped below
		}
	}
	old, err := filepath.Glob(filepath.Join(shipped, "statefile", "*.go"))
	if err != nil || len(old) == 0 {
		t.Fatalf("no shipped statefile files in %s: %v", shipped, err)
	}
	for _, f := range old {
		replace[filepath.Join(root, "statefile", filepath.Base(f))] = f
	}
	// sqlassign: the guard alone (shared.go; what the rest of the package needs lives in other files).
	replace[filepath.Join(root, "sqlassign", "shared.go")] = filepath.Join(shipped, "sqlassign", "shared.go")
	// and without the later check that the store stays the file at its path (which refuses a store
	// in no file too).
	replace[filepath.Join(root, "sqlassign", "identity.go")] = filepath.Join(shipped, "sqlassign", "identity.go")
	b, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(overlay, b, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := cmdtest.Command("snowfall")
	bin.Flags = []string{"-overlay", overlay}
	t.Cleanup(bin.Remove)
	return bin.Path(t)
}

// TestFindsMovedDefect proves that the move cases can see: it builds snowfall with the statefile
// source as of bd8de23 (testdata/moved, through go build -overlay), whose start on a moved state
// file issued at once from its clock and whose first server resumed when its file came back, and
// asserts that the CI-sized search finds a move case that breaks the rule.
func TestFindsMovedDefect(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	moved, err := filepath.Abs("testdata/moved/statefile/source.go")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, "statefile", "source.go"): moved}})
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(t.TempDir(), "overlay.json")
	if err := os.WriteFile(overlay, b, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := cmdtest.Command("snowfall")
	bin.Flags = []string{"-overlay", overlay}
	t.Cleanup(bin.Remove)
	var found *Outcome
	n := 0
	sum, _ := search(t, bin.Path(t), func(o *Outcome) bool {
		n++
		if o.Failed() && o.Case.Move != "" {
			found = o
			return true
		}
		return false
	})
	t.Logf("%s (statefile source of bd8de23)", sum)
	if found == nil {
		t.Fatalf("no move case failed in %d cases", sum.Cases)
	}
	t.Logf("found at case %d: %s\n  %s", n, found.Case, found.Violation)
}
