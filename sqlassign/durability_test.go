package sqlassign

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestSQLiteDurable (issue 10, defect 6): a SQLite lease file commits with synchronous=FULL, so
// power loss cannot roll back an acknowledged claim or renewal (NORMAL under WAL can).
func TestSQLiteDurable(t *testing.T) {
	a, err := Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "leases.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var mode, sync string
	if err := a.db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := a.db.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || sync != "2" {
		t.Errorf("journal_mode %s, synchronous %s: want wal and 2 (FULL)", mode, sync)
	}
}

// TestSQLiteQueryPragma: pragmas in the URL's query come after sqlassign's and win, so a URL can
// ask for a journal mode or synchronous level that does not make a commit durable, however it
// spells it. Open reads the effective values and refuses those, naming the value and the allowed
// ones (a mark recorded without a durable commit can come back lower after a crash: duplicates).
func TestSQLiteQueryPragma(t *testing.T) {
	for i, c := range []struct {
		query string
		want  string // "" accepted; else words of the error
		sync  string // when accepted: PRAGMA synchronous
	}{
		{"", "", "2"},
		{"_pragma=synchronous(extra)", "", "2"}, // the driver runs _pragma values sorted: synchronous(full) comes last
		{"_pragma=synchronous=3", "", "3"},
		{"_synchronous=EXTRA", "", "3"},
		// Sorts before sqlassign's journal_mode(WAL), so the first connection ends in WAL mode, but
		// every later one tries to leave it, and fails while another holds the file.
		{"_pragma=journal_mode(delete)", "a journal mode other than WAL", ""},
		// Durable, but not WAL (the red team's F-E): refused, whatever the spelling.
		{"_journal=TRUNCATE&_sync=3", "journal_mode TRUNCATE", ""},
		{"_journal_mode=delete", "journal_mode DELETE", ""},
		{"_pragma=journal_mode=delete", "journal_mode DELETE", ""},
		{"_pragma=journal_mode=persist", "journal_mode PERSIST", ""},
		{"_pragma=synchronous(normal)", "synchronous=NORMAL", ""},
		{"_pragma=synchronous(off)", "synchronous=OFF", ""},
		{"_pragma=synchronous=0", "synchronous=OFF", ""},
		{"_pragma=SYNCHRONOUS(off)", "synchronous=OFF", ""},
		{"_pragma=synchronous%28off%29", "synchronous=OFF", ""},
		{"_pragma=synchronous%3D1", "synchronous=NORMAL", ""},
		{"_synchronous=OFF", "synchronous=OFF", ""},
		{"_sync=normal", "synchronous=NORMAL", ""},
		{"_pragma=journal_mode=memory", "journal_mode MEMORY", ""},
		{"_journal_mode=MEMORY", "journal_mode MEMORY", ""},
		{"_journal=off", "journal_mode OFF", ""},
		{"_pragma=journal_mode(delete)&_pragma=synchronous(off)", "synchronous=OFF", ""},
		{"_journal_mode=DELETE&_synchronous=NORMAL", "synchronous=NORMAL", ""},
	} {
		dir := t.TempDir() // outside t.Run: a test's name with a '%' in the path would be an escape
		t.Run(c.query, func(t *testing.T) {
			url := "sqlite://" + filepath.Join(dir, fmt.Sprintf("leases%d.db", i))
			if c.query != "" {
				url += "?" + c.query
			}
			a, err := Open(t.Context(), url, Options{})
			if c.want != "" {
				if err == nil {
					a.Close()
					t.Fatalf("Open(%s) accepted it; want an error naming %s", c.query, c.want)
				}
				why := "durable" // what the refusal must explain
				if strings.Contains(c.want, "WAL") || strings.HasPrefix(c.want, "journal_mode") && !strings.Contains(c.want, "MEMORY") && !strings.Contains(c.want, "OFF") {
					why = "WAL mode"
				}
				if msg := err.Error(); !strings.Contains(msg, c.want) || !strings.Contains(msg, "want ") || !strings.Contains(msg, why) {
					t.Errorf("Open(%s): error %q; want one naming %s, the allowed values and %s", c.query, msg, c.want, why)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%s): %v", c.query, err)
			}
			defer a.Close()
			var sync, mode string
			if err := a.db.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
				t.Fatal(err)
			}
			if err := a.db.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if sync != c.sync || mode != "wal" {
				t.Errorf("synchronous %s, journal_mode %s: want %s and wal", sync, mode, c.sync)
			}
		})
	}
}
