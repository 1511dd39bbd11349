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
//	used/<id>     written by every claim (the mark it set), no lease: the id has lease history, so a
//	              missing mark/<id> is a lost floor (an operator's deletion), not "never claimed":
//	              reading the manifest then fails, naming the key, until a mark is put back
//
// Expiry is judged by one clock, the etcd leader's: a claim attaches gen/<id> to an etcd lease
// whose TTL covers the requested lease, and the leader deletes the key when the TTL runs out
// without a keep-alive. An id is free when gen/<id> is absent. A claim is one transaction that
// compares gen/<id>'s create revision (0: absent) and mark/<id>'s mod revision with what the claimer
// read, and writes the token, the holder and the new mark; renewals and releases are transactions
// that compare gen/<id>'s value with the token. The mark outlives the lease and only rises while
// an id is held: a renewal's transaction is also conditioned on the mark key's mod revision, so
// that it writes the larger of the mark it last read and the new one, and it succeeds only when
// the stored mark is then at least the new one; a mark/<id> that holds something other than a
// number of milliseconds makes renewals fail, naming the key (mark.go). The safety argument is
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
//
// One member of three (or two of five) frozen, unreachable or not answering costs no lease:
// renewals go to another member when one does not answer in time (members.go). Run etcd 3.4.31,
// 3.5.13 or later: before them, a leader that was stalled for longer than a lease's TTL (a frozen
// process, a slow disk) revokes that lease when it wakes, after the cluster elected another leader
// that kept it alive (etcd-io/etcd#15247). The holder then finds its lease lost at its next renewal
// and another instance may claim the id while the holder's permit still runs: IDs stay unique (the
// new floor is the old holder's mark), but for up to a lease IDs of that generator id may come out
// of time order.
package etcdassign

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/redact"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
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
	c        *clientv3.Client // every endpoint, balanced: all calls but renewals
	t        target
	prefix   string
	url      string // without password
	attempts int

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // renewal attempts and member builds

	mu          sync.Mutex
	tenures     map[string]tenure // by token, for the tenures claimed through this Assigner
	flight      *flight           // the read of the manifest in progress, if any
	members     []*member         // one client per endpoint, for renewals (members.go)
	memberLease time.Duration     // the lease the members' timeouts are derived from

	spares map[spareKey]spare // guarded by mu: etcd leases of claims that lost a race (claim.go)
}

// tenure is what a renewal needs about a claim: its etcd lease and TTL, and the mark this
// Assigner last saw stored for it.
type tenure struct {
	id    int64
	lease clientv3.LeaseID
	ttl   int64
	// markRev is mark/<id>'s mod revision when markMs was stored (0: not known, or the key is
	// absent); a renewal writes the mark only if the key is still at markRev.
	markRev int64
	markMs  int64
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

// defaultLease is the lease of a holder with snowfall's default probe interval. The main client's
// timeouts are derived from it, since Open is called before the manifest says which lease its
// holders use; renewals, whose lease is known, go through clients derived from their own
// (members.go).
const defaultLease = 2 * snowfall.DefaultProbe

// Open connects to the etcd cluster at url, etcd://[user[:password]@]host:port[,host:port…]/prefix,
// with the optional parameters tls=true, cacert=FILE, cert=FILE and key=FILE (a client
// certificate), insecure-skip-tls-verify=true and dial-timeout=DURATION (default 5s). The prefix
// is its path's segments joined by single slashes (/snowfall, //snowfall/ and /snowfall%2F name the
// one prefix /snowfall/; no path names /snowfall/); a "." or ".." segment is refused. It reads the
// manifest's properties once to check that the cluster answers. Errors: a malformed URL, an unknown
// parameter, a bad group name, unreadable TLS files, and an unreachable cluster or failed
// authentication. No error quotes url: a malformed one is hidden, and one that parsed is shown
// without its password (see Redacted); the etcd client's error is reachable through errors.Unwrap
// and errors.As but not part of the message, which names its class. The result is safe for
// concurrent use.
//
// Renewals go through a client per endpoint, built at the first renewal with timeouts derived from
// its lease, and each renewal tries another member when one does not answer in time, so that one
// frozen or unreachable member of a cluster that keeps its majority costs no lease (members.go).
func Open(ctx context.Context, url string, opts Options) (*Assigner, error) {
	t, err := parseURL(url, opts.Group)
	if err != nil {
		return nil, err
	}
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   t.endpoints,
		DialTimeout: t.dial,
		// gRPC pings no sooner than 10 s after the last byte read; an unanswered ping then
		// closes the connection within a quarter of the default lease, and the balancer stops
		// sending calls to that member.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: defaultLease / 4,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: defaultLease / 10, Multiplier: 1.6, Jitter: 0.2, MaxDelay: defaultLease},
			MinConnectTimeout: min(t.dial, defaultLease/2),
		})},
		Username: t.user,
		Password: t.password,
		TLS:      t.tls,
		Context:  actx,
		Logger:   zap.NewNop(),
	})
	if err != nil {
		cancel()
		return nil, redact.Wrap("etcdassign: open", t.display, err, classify)
	}
	a := &Assigner{c: c, t: t, prefix: t.prefix, url: t.display, attempts: opts.Attempts, tenures: map[string]tenure{},
		ctx: actx, cancel: cancel}
	if a.attempts <= 0 {
		a.attempts = 8
	}
	pctx, cancel := context.WithTimeout(ctx, t.dial)
	defer cancel()
	if _, err := c.Get(pctx, a.prefix+"props/", clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		a.Close()
		return nil, redact.Wrap("etcdassign: open", t.display, err, classify)
	}
	return a, nil
}

// Close closes the connections to the cluster, after the renewal attempts in flight have
// returned. Leases held through the Assigner then expire by themselves unless they were released.
func (a *Assigner) Close() error {
	a.mu.Lock()
	a.cancel() // under a.mu: no goroutine is added to a.wg after it (spawn, build)
	a.mu.Unlock()
	a.closeMembers()
	return a.c.Close()
}

// Prefix returns the key prefix of the manifest, with its trailing slash.
func (a *Assigner) Prefix() string { return a.prefix }

func (a *Assigner) key(kind string, id int64) string {
	return a.prefix + kind + "/" + strconv.FormatInt(id, 10)
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
