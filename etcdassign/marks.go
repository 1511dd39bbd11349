package etcdassign

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// raiseBatch is how many ids one transaction of RaiseMarks raises: each id costs two comparisons
// and a put, and etcd refuses a transaction of more than --max-txn-ops (default 128) of either.
const raiseBatch = 50

// RaiseMarks implements snowfall.MarkRaiser. It reads the holders and marks in one transaction,
// then raises the marks below r.To in transactions of raiseBatch ids, each conditioned on every
// mark's mod revision being the one read (and, unless r.Force, on every id being free), so a
// raise never lowers a mark written meanwhile. A transaction whose condition fails makes it read
// again and go on with the ids still below r.To. Atomic per transaction, not over the whole
// pool: when a claim lands on a free id while it runs, it stops with a *snowfall.HeldError and
// the marks already raised stay raised (a raise is always safe to keep).
func (a *Assigner) RaiseMarks(ctx context.Context, r snowfall.RaiseRequest) ([]snowfall.MarkChange, error) {
	if err := snowfall.CheckRaise(r); err != nil {
		return nil, err
	}
	to := r.To.UnixMilli()
	var done []snowfall.MarkChange
	for attempt := 0; ; attempt++ {
		if attempt == 4*a.attempts {
			return done, fmt.Errorf("etcdassign: raise marks: the marks kept changing while they were raised, %d times; try again", attempt)
		}
		st, err := a.readMarks(ctx, r.Size)
		if err != nil {
			return done, fmt.Errorf("etcdassign: raise marks: %w", err)
		}
		if len(st.held) > 0 && !r.Force {
			return done, &snowfall.HeldError{IDs: st.held}
		}
		var todo []markState
		for _, m := range st.marks {
			if m.ms < to {
				todo = append(todo, m)
			}
		}
		if r.DryRun {
			return changes(todo, to), nil
		}
		lost := false
		for len(todo) > 0 && !lost {
			n := min(len(todo), raiseBatch)
			b := todo[:n]
			var cmps []clientv3.Cmp
			var puts []clientv3.Op
			for _, m := range b {
				mk := a.key("mark", m.id)
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(mk), "=", m.rev))
				if !r.Force {
					cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(a.key("gen", m.id)), "=", 0))
				}
				puts = append(puts, clientv3.OpPut(mk, padMs(to)))
			}
			resp, err := a.c.Txn(ctx).If(cmps...).Then(puts...).Commit()
			if err != nil {
				return done, fmt.Errorf("etcdassign: raise marks of generators %d to %d: %w", b[0].id, b[n-1].id, err)
			}
			if !resp.Succeeded {
				lost = true // read again
				continue
			}
			done = append(done, changes(b, to)...)
			todo = todo[n:]
		}
		if !lost {
			return sortChanges(done), nil
		}
	}
}

// markState is one id's mark as read, and whether a live lease holds the id.
type markState struct {
	id   int64
	ms   int64 // 0 if none
	rev  int64 // mark/<id>'s mod revision, 0 if absent
	held bool
}

type marksRead struct {
	marks []markState // every id in [0, size)
	held  []int64
}

// readMarks reads the holders and marks of ids [0, size) in one transaction.
func (a *Assigner) readMarks(ctx context.Context, size int64) (marksRead, error) {
	resp, err := a.c.Txn(ctx).Then(
		clientv3.OpGet(a.prefix+"gen/", clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(a.prefix+"mark/", clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return marksRead{}, err
	}
	st := marksRead{marks: make([]markState, size)}
	for id := range size {
		st.marks[id].id = id
	}
	idOf := func(key []byte, kind string) (int64, bool) {
		id, err := strconv.ParseInt(strings.TrimPrefix(string(key), a.prefix+kind+"/"), 10, 64)
		return id, err == nil && id >= 0 && id < size
	}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		if id, ok := idOf(kv.Key, "gen"); ok {
			st.marks[id].held = true
		}
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		id, ok := idOf(kv.Key, "mark")
		if !ok {
			continue
		}
		v, err := parseMark(string(kv.Key), kv.Value)
		if err != nil {
			return marksRead{}, err
		}
		st.marks[id].ms, st.marks[id].rev = v, kv.ModRevision
	}
	for _, m := range st.marks {
		if m.held {
			st.held = append(st.held, m.id)
		}
	}
	return st, nil
}

func changes(ms []markState, to int64) []snowfall.MarkChange {
	out := make([]snowfall.MarkChange, 0, len(ms))
	for _, m := range ms {
		out = append(out, snowfall.MarkChange{ID: m.id, Old: msTime(m.ms), New: time.UnixMilli(to), Held: m.held})
	}
	return out
}

// sortChanges sorts c by id: batches are committed in id order, but an id raised in an earlier
// round can come again in a later one (a release lowered its mark meanwhile, with Force).
func sortChanges(c []snowfall.MarkChange) []snowfall.MarkChange {
	slices.SortStableFunc(c, func(x, y snowfall.MarkChange) int { return compare(x.ID, y.ID) })
	return c
}

var _ snowfall.MarkRaiser = (*Assigner)(nil)
