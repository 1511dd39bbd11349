package etcdassign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Free implements snowfall.Assigner: one read of the manifest (concurrent calls of one Assigner
// share it), whose free ids it lists in the order a claim prefers them. An id's version is mark/<id>'s
// mod revision (0 while it has no mark): claims and releases write the mark, so it changes with
// every tenure, and with every other write of the mark.
func (a *Assigner) Free(ctx context.Context, r snowfall.FreeRequest) ([]snowfall.FreeID, error) {
	if r.Size <= 0 || r.Size > snowfall.MaxPoolSize || r.Start < 0 || r.Start >= r.Size || r.Limit < 1 {
		return nil, fmt.Errorf("etcdassign: free: size %d, start %d, limit %d: want size in [1, %d], start in [0, size), limit at least 1",
			r.Size, r.Start, r.Limit, snowfall.MaxPoolSize)
	}
	m, err := a.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("etcdassign: read free generator ids: %w", err)
	}
	cands := m.free(r.Size, r.Start, r.Now.UnixMilli())
	out := make([]snowfall.FreeID, min(len(cands), r.Limit))
	for i := range out {
		out[i] = snowfall.FreeID{ID: cands[i].id, Mark: msTime(cands[i].mark), Version: cands[i].markRev}
	}
	return out, nil
}

// spare is an etcd lease granted for a claim that lost its race: the next claim with the same token
// and the same clock reading (the same claimer trying another id, whose clock reading came before
// the grant) uses it.
type spare struct {
	lease   clientv3.LeaseID
	ttl     int64
	granted time.Time // local, to drop spares whose TTL has run out
}

// spareKey names the claims that may share a spare: one token, one clock reading.
type spareKey struct {
	token string
	now   int64
}

// Claim implements snowfall.Assigner: one transaction that succeeds only if gen/<id> is absent and
// mark/<id> still has the mod revision Free read (r.Free.Version; 0: absent, and then r.Free.Mark
// must be zero and used/<id> absent too: the id never claimed), and writes the token, the holder,
// the new mark and used/<id>. The tenure's keys are attached
// to an etcd lease granted before the transaction and after the claimer's clock reading: the
// store's now of the claim. A claim that loses keeps its lease for the next claim with the same
// token (the keeper retries with one token), so that races cost one transaction each.
func (a *Assigner) Claim(ctx context.Context, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	id := r.Free.ID
	if id < 0 || id >= snowfall.MaxPoolSize {
		return snowfall.Claim{}, fmt.Errorf("etcdassign: claim generator %d: out of range [0, %d)", id, snowfall.MaxPoolSize)
	}
	if r.Free.Version == 0 && !r.Free.Mark.IsZero() {
		// No mark key, but a mark: not a state Free can have read.
		return snowfall.Claim{}, fmt.Errorf("etcdassign: claim generator %d: %w", id, snowfall.ErrClaimConflict)
	}
	key := spareKey{r.Token, r.Now.UnixNano()}
	sp, err := a.spareLease(ctx, key, ttlOf(r.Lease))
	if err != nil {
		return snowfall.Claim{}, fmt.Errorf("etcdassign: claim generator %d: grant a lease of %d s: %w", id, ttlOf(r.Lease), err)
	}
	prev := max(r.Free.Mark.UnixMilli(), 0)
	if r.Free.Mark.IsZero() {
		prev = 0
	}
	markMs := max(r.Now.UnixMilli(), prev) + r.Ahead.Milliseconds()
	now := time.Now().UnixMilli()
	in, _ := json.Marshal(info{Host: r.Holder.Host, PID: r.Holder.PID, Claimed: now, TTL: sp.ttl})
	gen, mk, used := a.key("gen", id), a.key("mark", id), a.key("used", id)
	cmps := []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(gen), "=", 0),
		clientv3.Compare(clientv3.ModRevision(mk), "=", r.Free.Version),
	}
	if r.Free.Version == 0 {
		// Read as never claimed: so it must still be (no mark deleted since; see readOnce).
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(used), "=", 0))
	}
	resp, err := a.c.Txn(ctx).If(cmps...).Then(
		clientv3.OpPut(gen, r.Token, clientv3.WithLease(sp.lease)),
		clientv3.OpPut(a.key("info", id), string(in), clientv3.WithLease(sp.lease)),
		clientv3.OpPut(a.key("beat", id), strconv.FormatInt(now, 10), clientv3.WithLease(sp.lease)),
		clientv3.OpPut(mk, padMs(markMs)),
		clientv3.OpPut(used, padMs(markMs)),
	).Commit()
	if err != nil {
		a.dropSpare(key)
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) { // else it expired while the claimer lost races
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			a.c.Revoke(rctx, sp.lease) // best effort: an unused lease expires by itself
			cancel()
		}
		return snowfall.Claim{}, fmt.Errorf("etcdassign: claim generator %d: %w", id, err)
	}
	if !resp.Succeeded {
		a.mu.Lock()
		a.spares[key] = sp
		a.mu.Unlock()
		return snowfall.Claim{}, fmt.Errorf("etcdassign: claim generator %d: %w", id, snowfall.ErrClaimConflict)
	}
	a.mu.Lock()
	a.tenures[r.Token] = tenure{id: id, lease: sp.lease, ttl: sp.ttl}
	a.mu.Unlock()
	return snowfall.Claim{ID: id, Prev: msTime(prev), Mark: time.UnixMilli(markMs)}, nil
}

// spareLease returns the spare lease of key, taking it out of the spares, or grants a new one. It
// drops the spares whose TTL has run out.
func (a *Assigner) spareLease(ctx context.Context, key spareKey, ttl int64) (spare, error) {
	a.mu.Lock()
	if a.spares == nil {
		a.spares = map[spareKey]spare{}
	}
	sp, ok := a.spares[key]
	delete(a.spares, key)
	for k, s := range a.spares {
		if time.Since(s.granted) > time.Duration(s.ttl)*time.Second {
			delete(a.spares, k)
		}
	}
	a.mu.Unlock()
	if ok && sp.ttl >= ttl && time.Since(sp.granted) < time.Duration(sp.ttl)*time.Second/2 {
		return sp, nil
	}
	granted := time.Now()
	g, err := a.c.Grant(ctx, ttl)
	if err != nil {
		return spare{}, err
	}
	return spare{lease: g.ID, ttl: max(g.TTL, ttl), granted: granted}, nil
}

func (a *Assigner) dropSpare(key spareKey) {
	a.mu.Lock()
	delete(a.spares, key)
	a.mu.Unlock()
}

// free returns the free ids of m in [0, size) in the order a claim prefers them: those whose mark
// is not after nowMs from start upwards, wrapping, then the others by mark and in the same order.
func (m manifest) free(size, start, nowMs int64) []candidate {
	var now, ahead []candidate
	for i := range size {
		id := (start + i) % size
		if m.held[id] {
			continue
		}
		c, ok := m.marks[id]
		if !ok {
			c = candidate{id: id}
		}
		if c.mark > nowMs {
			ahead = append(ahead, c)
		} else {
			now = append(now, c)
		}
	}
	slices.SortStableFunc(ahead, func(x, y candidate) int { return compare(x.mark, y.mark) })
	return append(now, ahead...)
}
