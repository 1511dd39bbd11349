package sqlassign

import (
	"path/filepath"
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

// TestSQLiteQueryPragma: pragmas in the URL's query come after sqlassign's and win, which is how
// BenchmarkRenew/sqlite-normal measures the cost of durable commits in the same run.
func TestSQLiteQueryPragma(t *testing.T) {
	a, err := Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "leases.db")+"?_pragma=synchronous(NORMAL)", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var sync string
	if err := a.db.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if sync != "1" {
		t.Errorf("synchronous: got %s, want 1 (NORMAL, from the URL)", sync)
	}
}
