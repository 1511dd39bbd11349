package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// Faults of one etcd member while the other two keep a majority. Each must cost no lease: the
// servers' lease loss counters (/stats) do not move while it lasts and settles.
const (
	EtcdFreezeFollower = "etcd_freeze_follower" // SIGSTOP a follower, later SIGCONT
	EtcdFreezeLeader   = "etcd_freeze_leader"   // SIGSTOP the leader (the others elect one), later SIGCONT
	EtcdBlackhole      = "etcd_blackhole"       // a member's client traffic accepted, never answered, then delivered late
)

// memberKinds are the member faults in the order a round injects them.
var memberKinds = []string{EtcdFreezeFollower, EtcdFreezeLeader, EtcdBlackhole}

// memberLease is the lease of the member fault fleet (--probe 1s): etcd grants it a TTL of 2 s,
// its lease rounded up to whole seconds and raised to etcd's minimum (1.5 × the 1 s election
// timeout), so that, as with the default 10 s lease, the etcd lease lasts no longer than the
// holder's. (The 400 ms lease of the other fleets gets the same 2 s TTL, five of its leases,
// which hides a renewal that waits on a frozen member.)
const memberLease = 2 * time.Second

// memberHold is how long a member fault lasts: three leases, so that a holder that could not renew
// through the other members would lose its lease.
const memberHold = 3 * memberLease

// memberTally counts, per member fault kind, what the servers' /stats counters moved by while the
// faults lasted and settled.
type memberTally struct {
	faults   map[string]int
	losses   map[string]uint64 // lease losses: must stay 0
	failures map[string]uint64 // failed renewals (and claims)
	refused  map[string]uint64 // ID requests answered 503
}

func newMemberTally() *memberTally {
	return &memberTally{faults: map[string]int{}, losses: map[string]uint64{}, failures: map[string]uint64{}, refused: map[string]uint64{}}
}

// Losses returns the lease losses counted over every member fault.
func (m *memberTally) Losses() uint64 {
	var n uint64
	for _, v := range m.losses {
		n += v
	}
	return n
}

// Summary returns one line: per kind, faults injected, lease losses, failed renewals and refused
// requests, then the total of lease losses.
func (m *memberTally) Summary(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fleet %s members:", name)
	for _, k := range memberKinds {
		fmt.Fprintf(&b, " %s[n=%d losses=%d renewal_failures=%d refused=%d]", k, m.faults[k], m.losses[k], m.failures[k], m.refused[k])
	}
	fmt.Fprintf(&b, " lease_losses=%d", m.Losses())
	return b.String()
}

// procLease is what /stats says of one slot's process.
type procLease struct {
	proc                      int
	state                     string
	losses, failures, refused uint64
}

// leaseStats reads /stats of every slot's current process.
func (f *Fleet) leaseStats(ctx context.Context) ([]procLease, error) {
	hc := &http.Client{Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	out := make([]procLease, len(f.slots))
	for i := range f.slots {
		addr, proc := f.Current(i)
		if addr == "" {
			return nil, fmt.Errorf("server %d has no process that listens", i)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/stats", nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("server %d: /stats: %w", i, err)
		}
		var st struct {
			Errors uint64 `json:"errors"`
			Lease  *struct {
				State    string `json:"state"`
				Losses   uint64 `json:"losses"`
				Failures uint64 `json:"failures"`
			} `json:"lease"`
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("server %d: /stats: %w", i, err)
		}
		if st.Lease == nil {
			return nil, fmt.Errorf("server %d: /stats shows no lease", i)
		}
		out[i] = procLease{proc: proc, state: st.Lease.State, losses: st.Lease.Losses, failures: st.Lease.Failures, refused: st.Errors}
	}
	return out, nil
}

// waitHeld waits until every slot's process holds its lease.
func (f *Fleet) waitHeld(ctx context.Context, d time.Duration) ([]procLease, error) {
	end := time.Now().Add(d)
	for {
		st, err := f.leaseStats(ctx)
		if err == nil && !slices.ContainsFunc(st, func(p procLease) bool { return p.state != "held" }) {
			return st, nil
		}
		if time.Now().After(end) {
			if err == nil {
				err = fmt.Errorf("not every server holds its lease: %+v", st)
			}
			return nil, err
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

// stall stalls (or, with on false, restores) the proxies through which every slot reaches member
// i: its client traffic is accepted and never answered.
func (f *Fleet) stall(member int, on bool) error {
	for _, s := range f.slots {
		ps, ok := s.proxy.(proxies)
		if !ok || member >= len(ps) {
			return fmt.Errorf("fleet: server %d has no proxy to etcd member %d", s.index, member)
		}
		p, ok := ps[member].(interface{ Stall() })
		if !ok {
			return fmt.Errorf("fleet: the proxy %T cannot stall", ps[member])
		}
		if on {
			p.Stall()
		} else {
			ps[member].Restore()
		}
	}
	return nil
}

// injectMember injects one member fault of kind for hold, waits settle, and adds to m what the
// servers' counters moved by meanwhile. round picks the black-holed member: the leader in even
// rounds, a follower in odd ones. The servers must be the same processes before and after: no
// other fault runs meanwhile.
func (c *etcdCluster) injectMember(ctx context.Context, f *Fleet, logf func(string, ...any), kind string, round int, hold, settle time.Duration, m *memberTally) error {
	before, err := f.waitHeld(ctx, 20*time.Second)
	if err != nil {
		return fmt.Errorf("before %s: %w", kind, err)
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	l, err := c.leader(lctx)
	cancel()
	if err != nil {
		return err
	}
	target := (l + 1) % 3
	if kind == EtcdFreezeLeader || kind == EtcdBlackhole && round%2 == 0 {
		target = l
	}
	role := "follower"
	if target == l {
		role = "leader"
	}
	switch kind {
	case EtcdFreezeFollower, EtcdFreezeLeader:
		logf("etcd: SIGSTOP to member %d (the %s) for %v", target, role, hold)
		if err := c.procs[target].Process.Signal(syscall.SIGSTOP); err != nil {
			return err
		}
		sleep(ctx, hold)
		logf("etcd: SIGCONT to member %d", target)
		if err := c.procs[target].Process.Signal(syscall.SIGCONT); err != nil {
			return err
		}
	case EtcdBlackhole:
		logf("etcd: client traffic to member %d (the %s) black-holed for %v", target, role, hold)
		if err := f.stall(target, true); err != nil {
			return err
		}
		sleep(ctx, hold)
		logf("etcd: client traffic to member %d restored", target)
		if err := f.stall(target, false); err != nil {
			return err
		}
	}
	m.faults[kind]++
	sleep(ctx, settle)
	after, err := f.waitHeld(ctx, 20*time.Second)
	if err != nil {
		return fmt.Errorf("after %s: %w", kind, err)
	}
	for i := range after {
		b, a := before[i], after[i]
		if a.proc != b.proc {
			return fmt.Errorf("after %s: server %d runs process %d, not %d: a fault other than the member's ran", kind, i, a.proc, b.proc)
		}
		m.losses[kind] += a.losses - b.losses
		m.failures[kind] += a.failures - b.failures
		m.refused[kind] += a.refused - b.refused
		if a.losses != b.losses {
			logf("etcd: server %d (process %d) lost its lease %d times during %s", i, a.proc, a.losses-b.losses, kind)
		}
	}
	return nil
}

// TestFleetEtcdMembers runs a fleet of 4 servers leased through a three-member etcd cluster of its
// own, with a 2 s lease, and injects faults of one member at a time: a follower frozen, the leader
// frozen, and one member's client traffic black-holed (the leader in even rounds, a follower in
// odd ones), each for three leases. The cluster keeps a majority throughout, so the servers must
// lose no lease (their /stats loss counters must not move) and, as always, issue no duplicate.
// The short variant runs one round; the long one (SNOWFALL_FLEET_LONG=1) rounds until
// SNOWFALL_FLEET_DURATION.
func TestFleetEtcdMembers(t *testing.T) {
	v := runVariant(t)
	c := startEtcd(t)
	cfg := Config{
		DB:       c.URL("fleet"),
		Group:    fmt.Sprintf("fleet_etcd_members_%d", time.Now().UnixNano()%1e12),
		Servers:  4,
		Probe:    memberLease / 2,
		Offsets:  []time.Duration{0, -skew, skew, 0},
		NewProxy: newProxy,
	}
	m := newMemberTally()
	faults := map[string]int{}
	res := pullDuring(t, cfg, v.seed, func(ctx context.Context, f *Fleet) error {
		logf := func(format string, args ...any) {
			t.Logf("%6.1fs "+format, append([]any{f.Since().Seconds()}, args...)...)
		}
		for round := 0; round < 1 || v.long && f.Since() < v.until; round++ {
			for _, kind := range memberKinds {
				if err := c.injectMember(ctx, f, logf, kind, round, memberHold, 1500*time.Millisecond, m); err != nil {
					return err
				}
				faults[kind]++
			}
		}
		return nil
	})
	r := res.report
	for _, line := range Tenures(res.log, snowfall.DefaultLayout()) {
		t.Log(line)
	}
	printSummary(t, r.Summary("etcd_members", faults))
	printSummary(t, m.Summary("etcd"))
	if !r.OK() {
		t.Errorf("fleet etcd_members broke its guarantees (logs in %s):\n%s", res.dir, r.Problems())
	}
	if r.IDs == 0 {
		t.Error("no IDs received")
	}
	if n := m.Losses(); n != 0 {
		t.Errorf("%d lease losses while one etcd member of three was frozen or black-holed, want 0 (logs in %s)", n, res.dir)
	}
}
