package sqlassign

import (
	"context"
	"fmt"
	"strings"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// Journal modes and synchronous levels under which a SQLite commit is durable: once COMMIT
// returns, a crash or power loss cannot bring back the state before it. A rollback journal or a
// write-ahead log must exist (MEMORY and OFF keep none on disk), and the commit must sync it
// (FULL or EXTRA: NORMAL under WAL can lose the last commits on power loss, OFF never syncs).
var (
	durableJournals = []string{"wal", "delete", "truncate", "persist"}
	durableSyncs    = map[string]string{"2": "FULL", "3": "EXTRA"}
	syncNames       = map[string]string{"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}
)

// checkDurable refuses a SQLite database whose connections commit non-durably, whatever the URL's
// query asked for and however it spelled it (_pragma=synchronous(OFF), synchronous(0),
// journal_mode(MEMORY), …): it reads the effective PRAGMA journal_mode and PRAGMA synchronous on a
// connection of the pool, which every connection opens with the same DSN. A lease mark recorded
// without a durable commit can come back lower after a crash, and the next holder of its id would
// repeat IDs. The error names the value and the allowed ones.
func (a *Assigner) checkDurable(ctx context.Context, classify func(error) string) error {
	c, err := a.db.Conn(ctx)
	if err != nil {
		return redact.Wrap("sqlassign: open", a.url, err, classify)
	}
	defer c.Close()
	var mode, sync string
	if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return redact.Wrap("sqlassign: open", a.url, err, classify)
	}
	if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return redact.Wrap("sqlassign: open", a.url, err, classify)
	}
	mode = strings.ToLower(mode)
	ok := false
	for _, m := range durableJournals {
		ok = ok || m == mode
	}
	if !ok {
		return fmt.Errorf("sqlassign: open %s: SQLite journal_mode %s does not make a commit durable (want WAL, DELETE, TRUNCATE or PERSIST, with synchronous FULL or EXTRA): "+
			"a crash could bring back a lower lease mark, and duplicate IDs", a.url, strings.ToUpper(mode))
	}
	if _, ok := durableSyncs[sync]; !ok {
		name := syncNames[sync]
		if name == "" {
			name = "level " + sync
		}
		return fmt.Errorf("sqlassign: open %s: SQLite synchronous=%s does not make a commit durable (want FULL or EXTRA, the default is FULL): "+
			"a crash or power loss could bring back a lower lease mark, and duplicate IDs", a.url, name)
	}
	return nil
}

// checkWAL refuses a shared SQLite lease store whose effective journal mode is not WAL, durable or
// not: its identity is its file, write-ahead log and shared-memory index (see fileIdentity), and a
// connection in a rollback-journal mode follows the file into WAL mode when a default connection
// switches it, with a log and an index no check recorded. The URL's query can ask for another mode
// in any spelling; what counts is the effective one, read on a connection of the pool as
// checkDurable reads it. (_journal_mode=, _journal= and _pragma=journal_mode=… run after
// sqlassign's own journal_mode(WAL) and are refused here; a _pragma=journal_mode(…) sorts before
// it, so the first connection ends in WAL mode, but every later one tries to leave it and fails
// while another holds the file: holdFile's new connection does.) Open calls it after checkShared,
// so that a file without locking (nolock=1, where WAL is impossible) is refused as not shared.
func (a *Assigner) checkWAL(ctx context.Context, classify func(error) string) error {
	var mode string
	if err := a.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return redact.Wrap("sqlassign: open", a.url, err, classify)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlassign: open %s: SQLite journal_mode %s: a lease store runs in WAL mode (want WAL, the default: "+
			"drop the journal mode from the URL): each server checks before every renewal that the file's write-ahead log and "+
			"shared-memory index are the ones it opened, and a server in another mode would follow the file into WAL mode "+
			"when a default server switches it, unchecked", a.url, strings.ToUpper(mode))
	}
	return nil
}
