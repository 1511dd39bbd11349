// Package etcdassign is a snowfall.Assigner kept in etcd (go.etcd.io/etcd/client/v3), shared by
// every instance that opens the same URL and group.
//
// Keys, under the prefix /<prefix>/ or /<prefix>/<group>/ of the URL etcd://host:port/<prefix>:
//
//	props/<name>  a manifest property (epoch_ms, layout, probe_ms), written once
//	gen/<id>      the token of the tenure that holds generator id <id>, attached to an etcd lease
//	info/<id>     the holder (host, pid), its claim time and TTL, on the same etcd lease
//	beat/<id>     the time of the last renewal, on the same etcd lease
//	mark/<id>     the high-water mark: Unix milliseconds, zero-padded to 20 digits; no lease
//
// Expiry is judged by one clock, the etcd leader's: a claim attaches gen/<id> to an etcd lease
// whose TTL covers the requested lease, and the leader deletes the key when the TTL runs out
// without a keep-alive. An id is free when gen/<id> is absent. A claim is one transaction that
// compares gen/<id>'s create revision (0: absent) and mark/<id>'s mod revision with what the claimer
// read, and writes the token, the holder and the new mark; renewals and releases are transactions
// that compare gen/<id>'s value with the token. The mark outlives the lease and only rises while
// an id is held: a renewal writes it inside a nested transaction that compares the stored value
// (fixed-width decimal, so byte order is numeric order) with the new one. See the snowfall
// package's lease.go for the safety argument.
//
// etcd lease TTLs are whole seconds, and a server raises a TTL below its minimum (about 1.5 ×
// its election timeout) to that minimum. A lease of d is granted with a TTL of d rounded up to
// the next whole second, so the store's lease lasts at least d after the store's now, as the
// Assigner contract requires; it may last up to a second longer (more, if the server raises it),
// which only delays a takeover of an id whose holder died. A claim grants its etcd lease after its
// read of the manifest and before the transaction that takes the id, so the store's now of a claim
// is the grant: later than the claimer's clock reading (ClaimRequest.Now and the permit's start),
// which is what the holder's self-fencing measures from. A renewal's is its keep-alive, which
// resets the TTL from the leader's now. A leader change extends every lease by
// its TTL (etcd renews all leases when a new leader takes over): again only later, never earlier.
package etcdassign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Options configure an Assigner. The zero value means the default group and retry bound.
type Options struct {
	// Group names an independent manifest under the same prefix: keys /<prefix>/<group>/….
	// Lower-case letters, digits and underscores, up to 40.
	Group string
	// Attempts bounds the reads of the manifest a claim makes when every id it found free was
	// taken by others meanwhile; zero means 8.
	Attempts int
}

// Assigner is a manifest in etcd. It is safe for concurrent use.
type Assigner struct {
	c        *clientv3.Client
	prefix   string
	url      string // without password
	attempts int

	mu      sync.Mutex
	tenures map[string]tenure // by token, for the tenures claimed through this Assigner
	flight  *flight           // the read of the manifest in progress, if any
}

// tenure is what a renewal needs about a claim: its etcd lease and TTL.
type tenure struct {
	id    int64
	lease clientv3.LeaseID
	ttl   int64
}

// info is the value of info/<id>.
type info struct {
	Host    string `json:"host"`
	PID     int64  `json:"pid"`
	Claimed int64  `json:"claimed_ms"` // the claimer's clock
	TTL     int64  `json:"ttl_s"`
}

// CheckURL returns the error Open would return for a malformed url or a bad group name, without
// connecting: commands use it to tell a usage error from an unreachable cluster.
func CheckURL(url, group string) error {
	_, err := parseURL(url, group)
	return err
}

// Open connects to the etcd cluster at url, etcd://[user[:password]@]host:port[,host:port…]/prefix,
// with the optional parameters tls=true, cacert=FILE, cert=FILE and key=FILE (a client
// certificate), insecure-skip-tls-verify=true and dial-timeout=DURATION (default 5s). It reads the
// manifest's properties once to check that the cluster answers. Errors: a malformed URL, an unknown
// parameter, a bad group name, unreadable TLS files, and an unreachable cluster or failed
// authentication; messages never hold the password. The result is safe for concurrent use.
func Open(ctx context.Context, url string, opts Options) (*Assigner, error) {
	t, err := parseURL(url, opts.Group)
	if err != nil {
		return nil, err
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:            t.endpoints,
		DialTimeout:          t.dial,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		Username:             t.user,
		Password:             t.password,
		TLS:                  t.tls,
		Context:              context.WithoutCancel(ctx),
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcdassign: open %s: %w", t.display, err)
	}
	a := &Assigner{c: c, prefix: t.prefix, url: t.display, attempts: opts.Attempts, tenures: map[string]tenure{}}
	if a.attempts <= 0 {
		a.attempts = 8
	}
	pctx, cancel := context.WithTimeout(ctx, t.dial)
	defer cancel()
	if _, err := c.Get(pctx, a.prefix+"props/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		c.Close()
		return nil, fmt.Errorf("etcdassign: open %s: %w", t.display, err)
	}
	return a, nil
}

// Close closes the connections to the cluster. Leases held through the Assigner then expire by
// themselves unless they were released.
func (a *Assigner) Close() error { return a.c.Close() }

// Prefix returns the key prefix of the manifest, with its trailing slash.
func (a *Assigner) Prefix() string { return a.prefix }

func (a *Assigner) key(kind string, id int64) string {
	return a.prefix + kind + "/" + strconv.FormatInt(id, 10)
}

// markValue encodes a mark as fixed-width decimal milliseconds: byte order is numeric order, so
// that a transaction can compare marks. Times before 1970 count as 0.
func markValue(t time.Time) string { return padMs(t.UnixMilli()) }

func padMs(ms int64) string { return fmt.Sprintf("%020d", max(ms, 0)) }

func parseMark(v []byte) (int64, error) { return strconv.ParseInt(string(v), 10, 64) }

func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// ttlOf returns the etcd TTL for a lease of d: d rounded up to whole seconds, at least one, so
// that the etcd lease lasts at least d.
func ttlOf(d time.Duration) int64 {
	return max(int64((d+time.Second-1)/time.Second), 1)
}

// Properties implements snowfall.Assigner: each missing default is written with a transaction
// that succeeds only if the key is still absent, so concurrent first users agree on one value.
func (a *Assigner) Properties(ctx context.Context, defaults map[string]string) (map[string]string, error) {
	props, err := a.readProperties(ctx)
	if err != nil {
		return nil, err
	}
	missing := false
	for k, v := range defaults {
		if _, ok := props[k]; ok {
			continue
		}
		missing = true
		key := a.prefix + "props/" + k
		if _, err := a.c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, v)).Commit(); err != nil {
			return nil, fmt.Errorf("etcdassign: store property %s: %w", k, err)
		}
	}
	if !missing {
		return props, nil
	}
	return a.readProperties(ctx) // another process may have stored other values first
}

func (a *Assigner) readProperties(ctx context.Context) (map[string]string, error) {
	p := a.prefix + "props/"
	r, err := a.c.Get(ctx, p, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcdassign: read properties: %w", err)
	}
	out := map[string]string{}
	for _, kv := range r.Kvs {
		out[strings.TrimPrefix(string(kv.Key), p)] = string(kv.Value)
	}
	return out, nil
}

// candidate is a free id and what its claim compares.
type candidate struct {
	id      int64
	mark    int64 // the stored mark in ms, 0 if none
	markRev int64 // mark/<id>'s mod revision, 0 if absent
}

// manifest is one read of the ids' holders and marks.
type manifest struct {
	held  map[int64]bool
	marks map[int64]candidate
}

// flight is a read of the manifest in progress, which concurrent claims of this Assigner share.
type flight struct {
	done   chan struct{}
	m      manifest
	err    error
	joined int // claims that share it besides the one that reads
}

// read returns the manifest and the rank of this claim among the claims sharing the read (0 for
// the one that made it). Claims that arrive while a read is in flight wait for it instead of
// reading again, and their ranks spread them over the free ids.
func (a *Assigner) read(ctx context.Context) (manifest, int, error) {
	a.mu.Lock()
	if f := a.flight; f != nil {
		f.joined++
		rank := f.joined
		a.mu.Unlock()
		select {
		case <-f.done:
			if f.err == nil {
				return f.m, rank, nil
			}
			// The reader's context may have ended; read with this one.
		case <-ctx.Done():
			return manifest{}, 0, ctx.Err()
		}
		m, err := a.readOnce(ctx)
		return m, 0, err
	}
	f := &flight{done: make(chan struct{})}
	a.flight = f
	a.mu.Unlock()
	f.m, f.err = a.readOnce(ctx)
	a.mu.Lock()
	a.flight = nil
	a.mu.Unlock()
	close(f.done)
	return f.m, 0, f.err
}

// readOnce reads the manifest in one transaction.
func (a *Assigner) readOnce(ctx context.Context) (manifest, error) {
	r, err := a.c.Txn(ctx).Then(
		clientv3.OpGet(a.prefix+"gen/", clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(a.prefix+"mark/", clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return manifest{}, err
	}
	m := manifest{held: map[int64]bool{}, marks: map[int64]candidate{}}
	for _, kv := range r.Responses[0].GetResponseRange().Kvs {
		if id, err := strconv.ParseInt(strings.TrimPrefix(string(kv.Key), a.prefix+"gen/"), 10, 64); err == nil {
			m.held[id] = true
		}
	}
	for _, kv := range r.Responses[1].GetResponseRange().Kvs {
		id, err := strconv.ParseInt(strings.TrimPrefix(string(kv.Key), a.prefix+"mark/"), 10, 64)
		if err != nil {
			continue
		}
		v, err := parseMark(kv.Value)
		if err != nil {
			return manifest{}, fmt.Errorf("mark of generator %d: %q is not a number", id, kv.Value)
		}
		m.marks[id] = candidate{id: id, mark: v, markRev: kv.ModRevision}
	}
	return m, nil
}

// free returns the free ids of m in [0, size) in the order a claim prefers them: by
// max(mark, nowMs), then by id. An id whose mark lies ahead of the claimer's clock comes after
// every id it could issue on at once.
func (m manifest) free(size, nowMs int64) []candidate {
	var now, ahead []candidate
	for id := range size {
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
	slices.SortFunc(ahead, func(x, y candidate) int {
		if x.mark != y.mark {
			return compare(x.mark, y.mark)
		}
		return compare(x.id, y.id)
	})
	return append(now, ahead...)
}

func compare(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

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

// Leases implements snowfall.Assigner. etcd keeps no wall-clock times: Claimed and Renewed are
// the holder's clock at its claim and last renewal, and Expires is Renewed plus the TTL of its
// etcd lease (the leader deletes the keys later, never earlier).
func (a *Assigner) Leases(ctx context.Context) ([]snowfall.LeaseRecord, error) {
	r, err := a.c.Txn(ctx).Then(
		clientv3.OpGet(a.prefix+"info/", clientv3.WithPrefix()),
		clientv3.OpGet(a.prefix+"mark/", clientv3.WithPrefix()),
		clientv3.OpGet(a.prefix+"beat/", clientv3.WithPrefix()),
	).Commit()
	if err != nil {
		return nil, fmt.Errorf("etcdassign: list leases: %w", err)
	}
	ints := func(i int, kind string) map[int64]int64 {
		m := map[int64]int64{}
		for _, kv := range r.Responses[i].GetResponseRange().Kvs {
			id, err1 := strconv.ParseInt(strings.TrimPrefix(string(kv.Key), a.prefix+kind+"/"), 10, 64)
			v, err2 := strconv.ParseInt(string(kv.Value), 10, 64)
			if err1 == nil && err2 == nil {
				m[id] = v
			}
		}
		return m
	}
	marks, beats := ints(1, "mark"), ints(2, "beat")
	var out []snowfall.LeaseRecord
	for _, kv := range r.Responses[0].GetResponseRange().Kvs {
		id, err := strconv.ParseInt(strings.TrimPrefix(string(kv.Key), a.prefix+"info/"), 10, 64)
		if err != nil {
			continue
		}
		var in info
		if err := json.Unmarshal(kv.Value, &in); err != nil {
			return nil, fmt.Errorf("etcdassign: list leases: info of generator %d: %w", id, err)
		}
		renewed := max(beats[id], in.Claimed)
		out = append(out, snowfall.LeaseRecord{ID: id, Holder: snowfall.Holder{Host: in.Host, PID: in.PID},
			Claimed: msTime(in.Claimed), Renewed: msTime(renewed),
			Expires: msTime(renewed + in.TTL*1000), Mark: msTime(marks[id])})
	}
	slices.SortFunc(out, func(x, y snowfall.LeaseRecord) int { return compare(x.ID, y.ID) })
	return out, nil
}

// Prepare does nothing: an etcd manifest needs no rows before a claim. It exists so that
// commands can treat every store alike.
func (a *Assigner) Prepare(ctx context.Context, size int64) error { return nil }

// Drop deletes every key of the manifest: leases, marks and properties. Tests use it.
func (a *Assigner) Drop(ctx context.Context) error {
	if _, err := a.c.Delete(ctx, a.prefix, clientv3.WithPrefix()); err != nil {
		return fmt.Errorf("etcdassign: drop %s: %w", a.prefix, err)
	}
	return nil
}

var _ snowfall.Assigner = (*Assigner)(nil)
