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

// memberKinds are the member faults in the order a round injects them; the leader's freeze comes
// last, as what an old etcd does when that leader wakes (wokenLeaderRevokes) can outlast the
// settle.
var memberKinds = []string{EtcdFreezeFollower, EtcdBlackhole, EtcdFreezeLeader}

// memberLease is the lease of the member fault fleet (--probe 1s): etcd grants it a TTL of 2 s,
// its lease rounded up to whole seconds and raised to etcd's minimum (1.5 × the 1 s election
// timeout), so that, as with the default 10 s lease, the etcd lease lasts no longer than the
// holder's. (The 400 ms lease of the other fleets gets the same 2 s TTL, five of its leases,
// which hides a renewal that waits on a frozen member.)
const memberLease = 2 * time.Second

// memberHold is how long a member fault lasts in the short variant: two and a half leases, so that
// a holder that could not renew through the other members would lose its lease. The long variant
// holds every other fault for memberHoldLong instead: past gRPC's keep-alive (a ping at the
// earliest 10 s after the last byte read), so that clients also drop and remake their connections
// to the member.
const (
	memberHold     = 5 * memberLease / 2
	memberHoldLong = 15 * time.Second
)

// memberTally counts, per member fault kind, what the servers' /stats counters moved by while the
// faults lasted (during) and in the settle after them (after).
type memberTally struct {
	faults      map[string]int
	during      map[string]uint64 // lease losses while the member was frozen or black-holed
	after       map[string]uint64 // lease losses after it woke or was restored
	failures    map[string]uint64 // failed renewals (and claims)
	refused     map[string]uint64 // ID requests answered 503
	staleRevoke bool              // the cluster's etcd has etcd#15247 (see wokenLeaderRevokes)
	version     string
	// revoked are the times, since the fleet started, at which a frozen leader woke and leases
	// were lost after, on an etcd with etcd#15247.
	revoked []time.Duration

	lastDuring []uint64 // per slot, the losses during the fault in progress
}

func newMemberTally() *memberTally {
	return &memberTally{faults: map[string]int{}, during: map[string]uint64{}, after: map[string]uint64{},
		failures: map[string]uint64{}, refused: map[string]uint64{}}
}

// excused reports whether losses after a fault of kind come from the etcd server, not from the
// holders: a leader woken from a freeze on an etcd with etcd#15247.
func (m *memberTally) excused(kind string) bool { return kind == EtcdFreezeLeader && m.staleRevoke }

// Losses returns the lease losses the holders are answerable for: every loss while a member was
// faulted, and every loss after, except those excused.
func (m *memberTally) Losses() uint64 {
	var n uint64
	for _, k := range memberKinds {
		n += m.during[k]
		if !m.excused(k) {
			n += m.after[k]
		}
	}
	return n
}

// Summary returns one line: per kind, faults injected, lease losses during and after the faults,
// failed renewals and refused requests; then the losses the holders are answerable for, and those
// etcd#15247 caused.
func (m *memberTally) Summary(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fleet %s leases:", name)
	var excused uint64
	for _, k := range memberKinds {
		fmt.Fprintf(&b, " %s[n=%d losses_during=%d losses_after=%d renewal_failures=%d refused=%d]",
			k, m.faults[k], m.during[k], m.after[k], m.failures[k], m.refused[k])
		if m.excused(k) {
			excused += m.after[k]
		}
	}
	fmt.Fprintf(&b, " lease_losses=%d", m.Losses())
	if m.staleRevoke {
		fmt.Fprintf(&b, " woken_leader_revokes=%d (etcd %s has etcd#15247)", excused, m.version)
	}
	return b.String()
}

// wokenLeaderRevokes reports whether etcd version v has etcd#15247, fixed in 3.4.31 and 3.5.13: a
// leader that was stalled (frozen, a slow disk) for longer than a lease's TTL wakes believing the
// lease expired and proposes its revocation, which, once it has stepped down, it forwards to the
// new leader, which applies it. The lease ends although its holder kept renewing it through the
// new leader; no client can prevent that. The holder sees ErrLeaseLost at its next renewal and
// claims again; no ID is repeated.
func wokenLeaderRevokes(v string) bool {
	var major, minor, patch int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch); err != nil {
		return true // unknown: assume the worst
	}
	switch {
	case major != 3:
		return major < 3
	case minor < 4:
		return true
	case minor == 4:
		return patch < 31
	case minor == 5:
		return patch < 13
	}
	return false
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
	var woke time.Duration
	switch kind {
	case EtcdFreezeFollower, EtcdFreezeLeader:
		logf("etcd: SIGSTOP to member %d (the %s) for %v", target, role, hold)
		if err := c.procs[target].Process.Signal(syscall.SIGSTOP); err != nil {
			return err
		}
		sleep(ctx, hold)
		if err := m.snapshot(ctx, f, kind, before); err != nil {
			return err
		}
		logf("etcd: SIGCONT to member %d", target)
		woke = f.Since()
		if err := c.procs[target].Process.Signal(syscall.SIGCONT); err != nil {
			return err
		}
	case EtcdBlackhole:
		logf("etcd: client traffic to member %d (the %s) black-holed for %v", target, role, hold)
		if err := f.stall(target, true); err != nil {
			return err
		}
		sleep(ctx, hold)
		if err := m.snapshot(ctx, f, kind, before); err != nil {
			return err
		}
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
	if err := sameProcesses(kind, before, after); err != nil {
		return err
	}
	var lostAfter uint64
	for i := range after {
		b, a := before[i], after[i]
		lost := a.losses - b.losses
		lostAfter += lost - m.lastDuring[i]
		m.after[kind] += lost - m.lastDuring[i]
		m.failures[kind] += a.failures - b.failures
		m.refused[kind] += a.refused - b.refused
		if lost != 0 {
			logf("etcd: server %d (process %d) lost its lease %d times in %s, %d of them while it lasted", i, a.proc, lost, kind, m.lastDuring[i])
		}
	}
	if lostAfter > 0 && m.excused(kind) {
		m.revoked = append(m.revoked, woke)
	}
	return nil
}

// outsideRevokes returns lg without the requests that overlap the two leases after a woken leader
// revoked leases (memberTally.revoked): the holders of the revoked leases may issue until their
// permits lapse while a new holder of the same generator id already issues above them, which
// breaks the order check, though not uniqueness (the new holder's floor is the old one's mark).
func (m *memberTally) outsideRevokes(lg *Log) (*Log, int) {
	out := &Log{Failures: lg.Failures}
	dropped := 0
	for _, r := range lg.Requests {
		if slices.ContainsFunc(m.revoked, func(w time.Duration) bool { return r.End >= w && r.Start <= w+2*memberLease }) {
			dropped++
			continue
		}
		out.Requests = append(out.Requests, r)
	}
	return out, dropped
}

// snapshot counts the lease losses since before at the end of a fault of kind, before the member
// is woken or restored.
func (m *memberTally) snapshot(ctx context.Context, f *Fleet, kind string, before []procLease) error {
	now, err := f.leaseStats(ctx)
	if err != nil {
		return fmt.Errorf("at the end of %s: %w", kind, err)
	}
	if err := sameProcesses(kind, before, now); err != nil {
		return err
	}
	m.lastDuring = make([]uint64, len(now))
	for i := range now {
		m.lastDuring[i] = now[i].losses - before[i].losses
		m.during[kind] += m.lastDuring[i]
	}
	return nil
}

// sameProcesses returns an error unless every slot runs the same process in a and b: no fault
// other than the member's may run meanwhile.
func sameProcesses(kind string, a, b []procLease) error {
	for i := range a {
		if a[i].proc != b[i].proc {
			return fmt.Errorf("during %s: server %d runs process %d, not %d: a fault other than the member's ran", kind, i, b[i].proc, a[i].proc)
		}
	}
	return nil
}

// TestFleetEtcdMembers runs a fleet of 4 servers leased through a three-member etcd cluster of its
// own, with a 2 s lease, and injects faults of one member at a time: a follower frozen, one
// member's client traffic black-holed (the leader in even rounds, a follower in odd ones), and the
// leader frozen, each for memberHold. The cluster keeps a majority throughout, so the servers must
// lose no lease (their /stats loss counters must not move) and, as always, issue no duplicate and
// keep the order of each generator id's IDs.
//
// One exception, which the summary line names: on an etcd with etcd#15247 (before 3.4.31 and
// 3.5.13; Debian's 3.4.23 here), the frozen leader revokes leases when it wakes
// (wokenLeaderRevokes). Then lease losses after that wake are counted apart, and order is checked
// without the requests of the two leases after it; losses while the leader is frozen, and
// duplicates everywhere, still fail the test.
//
// The short variant runs one round (about 30 s); the long one rounds until SNOWFALL_FLEET_DURATION,
// every other round holding for memberHoldLong:
//
//	SNOWFALL_FLEET_LONG=1 SNOWFALL_FLEET_DURATION=10m go test -v -run 'TestFleetEtcdMembers$' -timeout 0 ./internal/testkit/fleet
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
	vctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	version, err := c.version(vctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	m.version, m.staleRevoke = version, wokenLeaderRevokes(version)
	faults := map[string]int{}
	res := pullDuring(t, cfg, v.seed, func(ctx context.Context, f *Fleet) error {
		logf := func(format string, args ...any) {
			t.Logf("%6.1fs "+format, append([]any{f.Since().Seconds()}, args...)...)
		}
		for round := 0; round < 1 || v.long && f.Since() < v.until; round++ {
			hold := memberHold
			if round%2 == 1 {
				hold = memberHoldLong
			}
			for _, kind := range memberKinds {
				if err := c.injectMember(ctx, f, logf, kind, round, hold, 1500*time.Millisecond, m); err != nil {
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
	ordered, dropped := m.outsideRevokes(res.log)
	ro := Check(ordered, snowfall.DefaultLayout(), Window{From: res.fleet.StartTime().Add(-skew - time.Second), To: time.Now().Add(skew + time.Second)}, cfg.Servers)
	printSummary(t, m.Summary("etcd_members")+fmt.Sprintf(" order_violations_outside_revokes=%d", ro.OrderViolations))
	switch {
	case r.Duplicates != 0 || r.OutOfWindow != 0 || ro.OrderViolations != 0:
		t.Errorf("fleet etcd_members broke its guarantees (logs in %s):\n%s", res.dir, r.Problems())
	case r.OrderViolations != 0:
		t.Logf("%d order violations, all in the %d requests within two leases after a woken leader revoked leases (etcd#15247):\n%s",
			r.OrderViolations, dropped, r.Problems())
	}
	if r.IDs == 0 {
		t.Error("no IDs received")
	}
	if n := m.Losses(); n != 0 {
		t.Errorf("%d lease losses while one etcd member of three was frozen or black-holed, or after, want 0 (logs in %s)", n, res.dir)
	}
	if m.staleRevoke {
		t.Logf("etcd %s has etcd#15247: lease losses after the frozen leader woke are its revocations, not counted in lease_losses", m.version)
	}
}

func TestWokenLeaderRevokes(t *testing.T) {
	for v, want := range map[string]bool{"3.4.23": true, "3.4.30": true, "3.4.31": false, "3.5.12": true, "3.5.13": false,
		"3.6.0": false, "3.3.27": true, "2.3.8": true, "4.0.0": false, "": true, "v3.5.13": true} {
		if got := wokenLeaderRevokes(v); got != want {
			t.Errorf("wokenLeaderRevokes(%q) = %v, want %v", v, got, want)
		}
	}
}
