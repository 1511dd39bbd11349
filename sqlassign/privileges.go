package sqlassign

import "context"

// tablesExist reports whether the group's two tables exist and can be read, with one statement
// that reads no rows. Open then skips CREATE TABLE IF NOT EXISTS, which PostgreSQL and MySQL refuse
// to a user without the CREATE privilege even when the table exists: a lease user needs only
// SELECT, INSERT and UPDATE on the tables that snowfall schema create made as another user.
func (a *Assigner) tablesExist(ctx context.Context) bool {
	var n int64
	err := a.db.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM "+a.props+" WHERE 1 = 0) + (SELECT COUNT(*) FROM "+a.manifest+" WHERE 1 = 0)").Scan(&n)
	return err == nil
}
