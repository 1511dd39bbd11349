package sqlassign

import "context"

// ExecForTest runs stmt on a's connections: with Options.MaxConns 1, a session setting that every
// later statement of a sees (the time-zone test freezes the session's clock so).
func ExecForTest(ctx context.Context, a *Assigner, stmt string, args ...any) error {
	_, err := a.db.ExecContext(ctx, stmt, args...)
	return err
}
