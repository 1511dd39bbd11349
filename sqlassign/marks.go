package sqlassign

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/snowfall-go/snowfall"
)

// RaiseMarks implements snowfall.MarkRaiser. It adds the rows of ids never claimed (unless
// r.DryRun), then in one transaction reads the rows in range, locking them (SQLite: the one
// writer), and raises every mark below r.To with one UPDATE whose condition is mark_ms < r.To, so
// the statement itself never lowers a mark; the rows it changed must be the rows it read below
// r.To, else the transaction is rolled back and tried again.
func (a *Assigner) RaiseMarks(ctx context.Context, r snowfall.RaiseRequest) ([]snowfall.MarkChange, error) {
	if err := snowfall.CheckRaise(r); err != nil {
		return nil, err
	}
	if !r.DryRun {
		if err := a.Prepare(ctx, r.Size); err != nil {
			return nil, err
		}
	}
	var (
		out  []snowfall.MarkChange
		held *snowfall.HeldError
	)
	err := a.retry(ctx, "raise marks", func(ctx context.Context) error {
		var err error
		unlock := a.writer()
		out, held, err = a.raiseMarks(ctx, r)
		unlock()
		return err
	})
	if err != nil {
		return nil, err
	}
	if held != nil {
		return nil, held
	}
	return out, nil
}

func (a *Assigner) raiseMarks(ctx context.Context, r snowfall.RaiseRequest) ([]snowfall.MarkChange, *snowfall.HeldError, error) {
	to := r.To.UnixMilli()
	tx, err := a.db.BeginTx(ctx, &sql.TxOptions{Isolation: a.d.isolation})
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	lock := ""
	if a.d.name != "sqlite" {
		lock = " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, a.d.q("SELECT generator, mark_ms, CASE WHEN expires_ms > {now} THEN 1 ELSE 0 END FROM "+
		a.manifest+" WHERE generator < ? ORDER BY generator"+lock), r.Size)
	if err != nil {
		return nil, nil, err
	}
	var (
		out  []snowfall.MarkChange
		held []int64
		next int64 // the lowest id not seen yet: ids skipped have no row
	)
	absent := func(below int64) {
		for ; next < below; next++ {
			out = append(out, snowfall.MarkChange{ID: next, New: msTime(to)})
		}
	}
	for rows.Next() {
		var id, mark, live int64
		if err := rows.Scan(&id, &mark, &live); err != nil {
			rows.Close()
			return nil, nil, err
		}
		absent(id)
		next = id + 1
		if live == 1 {
			held = append(held, id)
		}
		if mark < to {
			out = append(out, snowfall.MarkChange{ID: id, Old: msTime(mark), New: msTime(to), Held: live == 1})
		}
	}
	if err := rows.Close(); err != nil {
		return nil, nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	absent(r.Size)
	if len(held) > 0 && !r.Force {
		return nil, &snowfall.HeldError{IDs: held}, nil
	}
	if r.DryRun {
		return out, nil, nil
	}
	res, err := tx.ExecContext(ctx, a.d.q("UPDATE "+a.manifest+" SET mark_ms = ? WHERE generator < ? AND mark_ms < ?"), to, r.Size, to)
	if err != nil {
		return nil, nil, err
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(out)) {
		return nil, nil, fmt.Errorf("%w: raised %d marks, read %d below the target", errRace, n, len(out))
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, err
	}
	return out, nil, nil
}

var _ snowfall.MarkRaiser = (*Assigner)(nil)
