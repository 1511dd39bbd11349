package etcdassign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// lookup returns the etcd lease and TTL of the tenure token of id: from this Assigner's claims,
// else read from etcd. It returns ErrLeaseLost when id is not held by token.
func (a *Assigner) lookup(ctx context.Context, id int64, token string) (tenure, error) {
	a.mu.Lock()
	t, ok := a.tenures[token]
	a.mu.Unlock()
	if ok && t.id == id {
		return t, nil
	}
	r, err := a.c.Txn(ctx).Then(clientv3.OpGet(a.key("gen", id)), clientv3.OpGet(a.key("info", id))).Commit()
	if err != nil {
		return tenure{}, err
	}
	g := r.Responses[0].GetResponseRange().Kvs
	if len(g) == 0 || string(g[0].Value) != token {
		return tenure{}, errHeldByOther
	}
	t = tenure{id: id, lease: clientv3.LeaseID(g[0].Lease)}
	if in := r.Responses[1].GetResponseRange().Kvs; len(in) > 0 {
		var v info
		if json.Unmarshal(in[0].Value, &v) == nil {
			t.ttl = v.TTL
		}
	}
	return t, nil
}

var errHeldByOther = fmt.Errorf("%w: the id is held by another token or by none", snowfall.ErrLeaseLost)

// Renew implements snowfall.Assigner: a keep-alive of the tenure's etcd lease (etcd's now + TTL),
// then one transaction that, if gen/<id> still holds token, raises the mark to mark unless it is
// already higher (a nested transaction comparing the stored value) and records the renewal time.
// A lease longer than the granted TTL moves the tenure's keys to a new etcd lease in that
// transaction instead of the keep-alive.
func (a *Assigner) Renew(ctx context.Context, id int64, token string, lease time.Duration, mark time.Time) error {
	t, err := a.lookup(ctx, id, token)
	if err != nil {
		return fmt.Errorf("etcdassign: renew generator %d: %w", id, err)
	}
	gen, mk, ik, bk := a.key("gen", id), a.key("mark", id), a.key("info", id), a.key("beat", id)
	ops := []clientv3.Op{
		clientv3.OpTxn([]clientv3.Cmp{clientv3.Compare(clientv3.Value(mk), "<", markValue(mark))},
			[]clientv3.Op{clientv3.OpPut(mk, markValue(mark))}, nil),
	}
	old, moved := t.lease, false
	if ttl := ttlOf(lease); ttl > t.ttl {
		g, err := a.c.Grant(ctx, ttl)
		if err != nil {
			return fmt.Errorf("etcdassign: renew generator %d: grant a lease of %d s: %w", id, ttl, err)
		}
		r, err := a.c.Get(ctx, ik)
		if err != nil {
			return fmt.Errorf("etcdassign: renew generator %d: %w", id, err)
		}
		var in info
		if len(r.Kvs) > 0 {
			json.Unmarshal(r.Kvs[0].Value, &in)
		}
		t.lease, t.ttl, moved = g.ID, max(g.TTL, ttl), true
		in.TTL = t.ttl
		b, _ := json.Marshal(in)
		ops = append(ops, clientv3.OpPut(gen, token, clientv3.WithLease(t.lease)),
			clientv3.OpPut(ik, string(b), clientv3.WithLease(t.lease)))
	} else if _, err := a.c.KeepAliveOnce(ctx, t.lease); err != nil {
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			a.forget(token)
			return fmt.Errorf("etcdassign: renew generator %d: %w: its etcd lease expired", id, snowfall.ErrLeaseLost)
		}
		return fmt.Errorf("etcdassign: renew generator %d: %w", id, err)
	}
	ops = append(ops, clientv3.OpPut(bk, strconv.FormatInt(time.Now().UnixMilli(), 10), clientv3.WithLease(t.lease)))
	r, err := a.c.Txn(ctx).If(clientv3.Compare(clientv3.Value(gen), "=", token)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("etcdassign: renew generator %d: %w", id, err)
	}
	if !r.Succeeded {
		a.forget(token)
		return fmt.Errorf("etcdassign: renew generator %d: %w", id, errHeldByOther)
	}
	if moved {
		a.mu.Lock()
		a.tenures[token] = t
		a.mu.Unlock()
		a.c.Revoke(ctx, old) // best effort: its keys moved to the new lease
	}
	return nil
}

func (a *Assigner) forget(token string) {
	a.mu.Lock()
	delete(a.tenures, token)
	a.mu.Unlock()
}

// Release implements snowfall.Assigner: if gen/<id> still holds token, one transaction records
// mark (which may be below the stored ceiling: the holder knows the last tick it issued) and
// deletes the tenure's keys, freeing id at once; the etcd lease is then revoked.
func (a *Assigner) Release(ctx context.Context, id int64, token string, mark time.Time) error {
	gen := a.key("gen", id)
	r, err := a.c.Txn(ctx).If(clientv3.Compare(clientv3.Value(gen), "=", token)).Then(
		clientv3.OpGet(gen),
		clientv3.OpPut(a.key("mark", id), markValue(mark)),
		clientv3.OpDelete(gen),
		clientv3.OpDelete(a.key("info", id)),
		clientv3.OpDelete(a.key("beat", id)),
	).Commit()
	if err != nil {
		return fmt.Errorf("etcdassign: release generator %d: %w", id, err)
	}
	a.forget(token)
	if !r.Succeeded {
		return fmt.Errorf("etcdassign: release generator %d: %w", id, errHeldByOther)
	}
	if kvs := r.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 && kvs[0].Lease != 0 {
		a.c.Revoke(ctx, clientv3.LeaseID(kvs[0].Lease)) // best effort: it holds no keys now
	}
	return nil
}

// Expire ends the lease on id at once, as if it had lapsed, for tests of lease loss: it revokes
// the etcd lease, which deletes the tenure's keys.
func (a *Assigner) Expire(ctx context.Context, id int64) error {
	r, err := a.c.Get(ctx, a.key("gen", id))
	if err != nil {
		return fmt.Errorf("etcdassign: expire generator %d: %w", id, err)
	}
	if len(r.Kvs) == 0 {
		return nil
	}
	if _, err := a.c.Revoke(ctx, clientv3.LeaseID(r.Kvs[0].Lease)); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("etcdassign: expire generator %d: %w", id, err)
	}
	return nil
}
