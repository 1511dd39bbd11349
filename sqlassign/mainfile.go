package sqlassign

import (
	"context"
	"database/sql"
	"fmt"
)

// mainFile returns the file of SQLite's main database, as SQLite resolved it: an absolute path,
// or "" for a database in no file (in memory, or temporary).
func (a *Assigner) mainFile(ctx context.Context) (string, error) { return mainFileOf(ctx, a.db) }

// mainFileOf is mainFile for a connection pool of SQLite's.
func mainFileOf(ctx context.Context, db *sql.DB) (string, error) {
	var path string
	rows, err := db.QueryContext(ctx, "PRAGMA database_list")
	if err != nil {
		return "", fmt.Errorf("list the databases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int
		var name, file string
		if err := rows.Scan(&seq, &name, &file); err != nil {
			return "", fmt.Errorf("list the databases: %w", err)
		}
		if name == "main" {
			path = file
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("list the databases: %w", err)
	}
	return path, nil
}
