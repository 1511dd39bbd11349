package etcdassign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// lookup returns the etcd lease, TTL and last known mark of the tenure token of id: from this
// Assigner's claims and renewals, else read from etcd through c. It returns ErrLeaseLost when id
// is not held by token, and an error naming the key when mark/<id> holds no mark.
func (a *Assigner) lookup(ctx context.Context, c *clientv3.Client, id int64, token string) (tenure, error) {
	a.mu.Lock()
	t, ok := a.tenures[token]
	a.mu.Unlock()
	if ok && t.id == id {
		return t, nil
	}
	r, err := c.Txn(ctx).Then(clientv3.OpGet(a.key("gen", id)), clientv3.OpGet(a.key("info", id)),
		clientv3.OpGet(a.key("mark", id))).Commit()
	if err != nil {
		return tenure{}, err
	}
	g := r.Responses[0].GetResponseRange().Kvs
	if len(g) == 0 || string(g[0].Value) != token {
		return tenure{}, errHeldByOther
	}
	t = tenure{id: id, lease: clientv3.LeaseID(g[0].Lease), ttl: infoTTL(r.Responses[1].GetResponseRange().Kvs)}
	if m := r.Responses[2].GetResponseRange().Kvs; len(m) > 0 {
		if t.markMs, err = parseMark(string(m[0].Key), m[0].Value); err != nil {
			return tenure{}, err
		}
		t.markRev = m[0].ModRevision
	}
	return t, nil
}

// infoTTL returns the TTL recorded in info/<id>, or 0.
func infoTTL(kvs []*mvccpb.KeyValue) int64 {
	var v info
	if len(kvs) > 0 && json.Unmarshal(kvs[0].Value, &v) == nil {
		return v.TTL
	}
	return 0
}

var errHeldByOther = fmt.Errorf("%w: the id is held by another token or by none", snowfall.ErrLeaseLost)

// Renew implements snowfall.Assigner: a keep-alive of the tenure's etcd lease (etcd's now + TTL),
// then a transaction that, if gen/<id> still holds token on that etcd lease and mark/<id> is still
// at the revision last seen, writes the larger of the mark last seen and mark, and records the
// renewal time. When mark/<id> changed meanwhile, it reads the stored mark and, if that is lower,
// writes again on the new revision; it succeeds only once the stored mark is at least mark, and
// fails, naming the key, when mark/<id> holds something other than a mark. A lease longer than
// the granted TTL moves the tenure's keys to a new etcd lease in that transaction instead of the
// keep-alive.
//
// Each attempt goes through one member; when it has not answered within its share of the time ctx
// leaves, another attempt starts on another member (members.go, which argues why attempts that
// all apply, late and in any order, are safe).
func (a *Assigner) Renew(ctx context.Context, id int64, token string, lease time.Duration, mark time.Time) error {
	attempt := func(ctx context.Context, c *clientv3.Client) (tenure, error) {
		return a.renewOn(ctx, c, id, token, lease, mark)
	}
	var t tenure
	var err error
	if ms := a.ready(lease); len(ms) > 0 {
		t, err = a.hedge(ctx, lease, ms, attempt)
	} else {
		t, err = attempt(ctx, a.c)
	}
	if err != nil {
		return fmt.Errorf("etcdassign: renew generator %d: %w", id, err)
	}
	a.mu.Lock()
	a.tenures[token] = t
	a.mu.Unlock()
	return nil
}

// markRounds bounds the transactions of one renewal attempt when mark/<id> keeps changing under
// it (only an operator or a concurrent attempt of the same renewal writes it while id is held).
const markRounds = 4

// renewOn makes one attempt at a renewal through c and returns the tenure as it then stands.
func (a *Assigner) renewOn(ctx context.Context, c *clientv3.Client, id int64, token string, lease time.Duration, mark time.Time) (tenure, error) {
	t, err := a.lookup(ctx, c, id, token)
	if err != nil {
		if errors.Is(err, snowfall.ErrLeaseLost) {
			a.forget(token)
		}
		return tenure{}, err
	}
	gen, mk, ik, bk := a.key("gen", id), a.key("mark", id), a.key("info", id), a.key("beat", id)
	asked := max(mark.UnixMilli(), 0)
	held := t.lease // the etcd lease gen/<id> must be on for this renewal to count
	var moved []clientv3.Op
	if ttl := ttlOf(lease); ttl > t.ttl {
		g, err := c.Grant(ctx, ttl)
		if err != nil {
			return tenure{}, fmt.Errorf("grant a lease of %d s: %w", ttl, err)
		}
		r, err := c.Get(ctx, ik)
		if err != nil {
			return tenure{}, err
		}
		var in info
		if len(r.Kvs) > 0 {
			json.Unmarshal(r.Kvs[0].Value, &in)
		}
		t.lease, t.ttl = g.ID, max(g.TTL, ttl)
		in.TTL = t.ttl
		b, _ := json.Marshal(in)
		moved = []clientv3.Op{clientv3.OpPut(gen, token, clientv3.WithLease(t.lease)),
			clientv3.OpPut(ik, string(b), clientv3.WithLease(t.lease))}
	} else if _, err := c.KeepAliveOnce(ctx, t.lease); err != nil {
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			a.forget(token)
			return tenure{}, fmt.Errorf("%w: its etcd lease expired", snowfall.ErrLeaseLost)
		}
		return tenure{}, err
	}
	for range markRounds {
		ops := append([]clientv3.Op{
			clientv3.OpPut(mk, padMs(max(t.markMs, asked))),
			clientv3.OpPut(bk, strconv.FormatInt(time.Now().UnixMilli(), 10), clientv3.WithLease(t.lease)),
		}, moved...)
		r, err := c.Txn(ctx).If(
			clientv3.Compare(clientv3.Value(gen), "=", token),
			clientv3.Compare(clientv3.LeaseValue(gen), "=", held),
			clientv3.Compare(clientv3.ModRevision(mk), "=", t.markRev),
		).Then(ops...).Else(clientv3.OpGet(gen), clientv3.OpGet(mk)).Commit()
		if err != nil {
			return tenure{}, err
		}
		if r.Succeeded {
			t.markRev, t.markMs = r.Header.Revision, max(t.markMs, asked)
			return t, nil
		}
		g := r.Responses[0].GetResponseRange().Kvs
		if len(g) == 0 || string(g[0].Value) != token {
			a.forget(token)
			return tenure{}, errHeldByOther
		}
		if clientv3.LeaseID(g[0].Lease) != held {
			// Another attempt moved the keys to another etcd lease: read the tenure again.
			a.forget(token)
			return tenure{}, errors.New("the tenure's keys moved to another etcd lease meanwhile")
		}
		t.markRev, t.markMs = 0, 0 // absent: the next round creates it
		if m := r.Responses[1].GetResponseRange().Kvs; len(m) > 0 {
			ms, err := parseMark(string(m[0].Key), m[0].Value)
			if err != nil {
				return tenure{}, err
			}
			t.markRev, t.markMs = m[0].ModRevision, ms
			if ms >= asked && moved == nil {
				// The token holds on the etcd lease this attempt kept alive, and the stored mark
				// is already at least mark (another attempt of this renewal, or an operator,
				// wrote it): the renewal is done.
				return t, nil
			}
		}
	}
	return tenure{}, fmt.Errorf("%s kept changing during the renewal, %d times", mk, markRounds)
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
