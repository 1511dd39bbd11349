package etcdassign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Claim implements snowfall.Assigner. It reads the free ids (concurrent claims of one Assigner
// share a read and take the preferred ids in the order they joined it), grants an etcd lease and
// tries the preferred id with a transaction; when another claimer took that id first, it tries one of the
// next preferred ids at random, among twice as many after each lost race, so that many concurrent
// claimers spread over the free ids instead of all retrying the same one. It reads the manifest
// again only when every id of its last read was taken meanwhile.
func (a *Assigner) Claim(ctx context.Context, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	if r.Size <= 0 || r.Size > snowfall.MaxPoolSize {
		return snowfall.Claim{}, fmt.Errorf("etcdassign: claim: pool size %d out of range [1, %d]", r.Size, snowfall.MaxPoolSize)
	}
	ttl := ttlOf(r.Lease)
	var lease clientv3.LeaseID
	granted := func() error {
		if lease != 0 {
			return nil
		}
		g, err := a.c.Grant(ctx, ttl)
		if err != nil {
			return err
		}
		lease, ttl = g.ID, max(g.TTL, ttl)
		return nil
	}
	ok := false
	defer func() {
		if !ok && lease != 0 {
			// Best effort: an unused lease expires by itself.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			a.c.Revoke(rctx, lease)
			cancel()
		}
	}()
	nowMs := r.Now.UnixMilli()
	lost := 0
	for range a.attempts {
		m, rank, err := a.read(ctx)
		if err != nil {
			return snowfall.Claim{}, fmt.Errorf("etcdassign: claim: %w", err)
		}
		cands := m.free(r.Size, nowMs)
		if len(cands) == 0 {
			return snowfall.Claim{}, fmt.Errorf("%w: all %d generator ids are held by live instances", snowfall.ErrNoFreeGenerator, r.Size)
		}
		if err := granted(); err != nil {
			return snowfall.Claim{}, fmt.Errorf("etcdassign: claim: grant a lease of %d s: %w", ttl, err)
		}
		for i := rank % max(len(cands), 1); len(cands) > 0; {
			c := cands[i]
			markMs := max(nowMs, c.mark) + r.Ahead.Milliseconds()
			now := time.Now().UnixMilli()
			in, _ := json.Marshal(info{Host: r.Holder.Host, PID: r.Holder.PID, Claimed: now, TTL: ttl})
			gen, mk := a.key("gen", c.id), a.key("mark", c.id)
			resp, err := a.c.Txn(ctx).If(
				clientv3.Compare(clientv3.CreateRevision(gen), "=", 0),
				clientv3.Compare(clientv3.ModRevision(mk), "=", c.markRev),
			).Then(
				clientv3.OpPut(gen, r.Token, clientv3.WithLease(lease)),
				clientv3.OpPut(a.key("info", c.id), string(in), clientv3.WithLease(lease)),
				clientv3.OpPut(a.key("beat", c.id), strconv.FormatInt(now, 10), clientv3.WithLease(lease)),
				clientv3.OpPut(mk, padMs(markMs)),
			).Commit()
			if errors.Is(err, rpctypes.ErrLeaseNotFound) {
				lease = 0 // expired while the claim lost races: grant another
				if err := granted(); err != nil {
					return snowfall.Claim{}, fmt.Errorf("etcdassign: claim: grant a lease of %d s: %w", ttl, err)
				}
				continue
			}
			if err != nil {
				return snowfall.Claim{}, fmt.Errorf("etcdassign: claim generator %d: %w", c.id, err)
			}
			if resp.Succeeded {
				ok = true
				a.mu.Lock()
				a.tenures[r.Token] = tenure{id: c.id, lease: lease, ttl: ttl}
				a.mu.Unlock()
				return snowfall.Claim{ID: c.id, Prev: msTime(c.mark), Mark: time.UnixMilli(markMs)}, nil
			}
			// Lost a race for c: try one of the next preferred ids at random, among more of
			// them after each loss.
			cands = slices.Delete(cands, i, i+1)
			lost++
			if len(cands) > 0 {
				i = rand.IntN(min(len(cands), 1<<min(lost, 16)))
			}
		}
		if err := ctx.Err(); err != nil {
			return snowfall.Claim{}, fmt.Errorf("etcdassign: claim: %w", err)
		}
	}
	return snowfall.Claim{}, fmt.Errorf("etcdassign: claim: every free id was taken by others meanwhile, %d times; try again", a.attempts)
}
