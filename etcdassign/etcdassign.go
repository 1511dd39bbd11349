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
// (fixed-width decimal, so byte order is numeric order) with the new one. The safety argument is
// in the snowfall package's documentation, sections "Leases" and "What the store must provide".
//
// etcd lease TTLs are whole seconds, and a server raises a TTL below its minimum (about 1.5 ×
// its election timeout) to that minimum. A lease of d is granted with a TTL of d rounded up to
// the next whole second, so the store's lease lasts at least d after the store's now, as the
// Assigner contract requires; it may last up to a second longer (more, if the server raises it),
// which only delays a takeover of an id whose holder died. A claim grants its etcd lease before the
// transaction that takes the id (a claim that loses a race leaves it to the next claim with the same
// token, which the same claimer makes), so the store's now of a claim is the grant: later than the
// claimer's clock reading (ClaimRequest.Now and the permit's start),
// which is what the holder's self-fencing measures from. A renewal's is its keep-alive, which
// resets the TTL from the leader's now. A leader change extends every lease by
// its TTL (etcd renews all leases when a new leader takes over): again only later, never earlier.
package etcdassign

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Options configure an Assigner. The zero value means the default group and retry bound.
type Options struct {
	// Group names an independent manifest under the same prefix: keys /<prefix>/<group>/….
	// Lower-case letters, digits and underscores, up to 40.
	Group string
	// Attempts is unused, and kept so that code which sets it still compiles: a claim is one
	// transaction, and the Leased keeper reads again and retries when claims conflict.
	//
	// Deprecated: it has no effect.
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

	spares map[spareKey]spare // guarded by mu: etcd leases of claims that lost a race (claim.go)
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
