package etcdassign

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/snowfall-go/snowfall"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Properties implements snowfall.Assigner. The missing defaults are written together in one
// transaction that succeeds only if every one of them is still absent, so that concurrent first
// users with different configurations never leave a manifest that mixes them (issue 18, defect 7).
// When another user stored one of them first, it reads again and writes what is still missing (a
// newer version's property on an existing manifest is stored once); each failed attempt means one
// more of the missing keys was stored, so it ends.
func (a *Assigner) Properties(ctx context.Context, defaults map[string]string) (map[string]string, error) {
	for {
		props, err := a.readProperties(ctx)
		if err != nil {
			return nil, err
		}
		var missing []string
		for k := range defaults {
			if _, ok := props[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			return props, nil
		}
		slices.Sort(missing)
		cmps := make([]clientv3.Cmp, len(missing))
		puts := make([]clientv3.Op, len(missing))
		for i, k := range missing {
			key := a.prefix + "props/" + k
			cmps[i] = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
			puts[i] = clientv3.OpPut(key, defaults[k])
		}
		r, err := a.c.Txn(ctx).If(cmps...).Then(puts...).Commit()
		if err != nil {
			return nil, fmt.Errorf("etcdassign: store properties %s: %w", strings.Join(missing, ", "), err)
		}
		if r.Succeeded {
			return a.readProperties(ctx)
		}
	}
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

// flight is a read of the manifest in progress, which concurrent Free calls of this Assigner share.
type flight struct {
	done chan struct{}
	m    manifest
	err  error
}

// read returns the manifest. Calls that arrive while a read is in flight wait for it instead of
// reading again.
func (a *Assigner) read(ctx context.Context) (manifest, error) {
	a.mu.Lock()
	if f := a.flight; f != nil {
		a.mu.Unlock()
		select {
		case <-f.done:
			if f.err == nil {
				return f.m, nil
			}
			// The reader's context may have ended; read with this one.
		case <-ctx.Done():
			return manifest{}, ctx.Err()
		}
		return a.readOnce(ctx)
	}
	f := &flight{done: make(chan struct{})}
	a.flight = f
	a.mu.Unlock()
	f.m, f.err = a.readOnce(ctx)
	a.mu.Lock()
	a.flight = nil
	a.mu.Unlock()
	close(f.done)
	return f.m, f.err
}

// readOnce reads the manifest in one transaction.
func (a *Assigner) readOnce(ctx context.Context) (manifest, error) {
	r, err := a.c.Txn(ctx).Then(
		clientv3.OpGet(a.prefix+"gen/", clientv3.WithPrefix(), clientv3.WithKeysOnly()),
		clientv3.OpGet(a.prefix+"mark/", clientv3.WithPrefix()),
		clientv3.OpGet(a.prefix+"used/", clientv3.WithPrefix(), clientv3.WithKeysOnly()),
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
		v, err := parseMark(string(kv.Key), kv.Value)
		if err != nil {
			return manifest{}, err
		}
		m.marks[id] = candidate{id: id, mark: v, markRev: kv.ModRevision}
	}
	// An id claimed before (used/<id>) whose mark is gone: the floor of the IDs its holders issued
	// is lost, and reading it as "never claimed" would floor the next claim at the claimer's clock.
	// A held id's next renewal puts its mark back (Renew): only a free one is an error.
	for _, kv := range r.Responses[2].GetResponseRange().Kvs {
		id, err := strconv.ParseInt(strings.TrimPrefix(string(kv.Key), a.prefix+"used/"), 10, 64)
		if err != nil || m.held[id] {
			continue
		}
		if _, ok := m.marks[id]; !ok {
			return manifest{}, &markGoneError{key: a.key("mark", id), used: string(kv.Key), id: id}
		}
	}
	return m, nil
}

// markGoneError is a mark key that is missing for an id claimed before.
type markGoneError struct {
	key, used string
	id        int64
}

func (e *markGoneError) Error() string {
	return fmt.Sprintf("key %s is missing, but %s shows that generator %d was claimed before: its high-water mark is lost; "+
		"put back a mark no earlier than the last ID issued with this generator id (snowfall leases raise-marks --by D, with D past the skew of the hosts that held it)", e.key, e.used, e.id)
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
