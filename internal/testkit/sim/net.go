package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
	"github.com/snowfall-go/snowfall/memassign"
)

// model is the manifest: the real memassign code on a steppable database clock, with a record of
// every tenure the checker needs (its floor, the marks it recorded, its release).
type model struct {
	s *sim

	mu    sync.Mutex // one call applies at a time, so the records follow the store exactly
	a     *memassign.Assigner
	db    *fakeclock.Clock // the store's clock, stepped by (*sim).database
	rows  map[int64]*rowState
	ten   map[tenureKey]*tenure
	byGen map[int64][]*tenure // in the order the store applied the claims
	seq   int
}

type rowState struct {
	token   string
	expires time.Time
	mark    time.Time
}

type tenureKey struct {
	gen   int64
	token string
}

// tenure is one claim the store applied.
type tenure struct {
	gen       int64
	token     string
	holder    snowfall.Holder // Host "h<slot>", PID = incarnation
	floor     time.Time       // the claim's Prev
	ceiling   time.Time       // the highest mark recorded for it
	applied   time.Time
	seq       int       // the order in which the store applied the claims
	delivered time.Time // when the claimer got the reply; zero if it never did
	released  bool
	relMark   time.Time
	minID     snowfall.ID
	maxID     snowfall.ID
	ids       int
}

func newModel(s *sim) *model {
	m := &model{s: s, rows: map[int64]*rowState{}, ten: map[tenureKey]*tenure{}, byGen: map[int64][]*tenure{},
		db: fakeclock.Following(0)}
	m.a = memassign.New(m.now) // memassign calls now with m.mu held (every call goes through apply*)
	return m
}

func (m *model) now() time.Time { return m.db.Now() }

// stepDB sets the store's clock offset, between two calls (never during one).
func (m *model) stepDB(d time.Duration) {
	m.mu.Lock()
	m.db.SetOffset(d)
	m.mu.Unlock()
}

func (m *model) free(r snowfall.FreeRequest) ([]snowfall.FreeID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.a.Free(context.Background(), r)
}

// claimAsIs applies r to its id's row as the store holds it now (its current version and mark), as a
// store that does not condition claims on the state the claimer read would; it does nothing when
// the id is not free.
func (m *model) claimAsIs(r snowfall.ClaimRequest) {
	m.mu.Lock()
	defer m.mu.Unlock()
	free, err := m.a.Free(context.Background(), snowfall.FreeRequest{Size: poolSize, Now: r.Now, Limit: int(poolSize)})
	if err != nil {
		return
	}
	for _, f := range free {
		if f.ID == r.Free.ID {
			r.Free = f
			m.claimLocked(r)
			return
		}
	}
}

func (m *model) claim(r snowfall.ClaimRequest) (snowfall.Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.claimLocked(r)
}

// claimLocked applies a claim and records the tenure it starts; m.mu must be held.
func (m *model) claimLocked(r snowfall.ClaimRequest) (snowfall.Claim, error) {
	c, err := m.a.Claim(context.Background(), r)
	if err != nil {
		return c, err
	}
	m.rows[c.ID] = &rowState{token: r.Token, expires: m.now().Add(r.Lease), mark: c.Mark}
	t := &tenure{gen: c.ID, token: r.Token, holder: r.Holder, floor: c.Prev, ceiling: c.Mark, applied: time.Now()}
	if old := m.ten[tenureKey{c.ID, r.Token}]; old != nil {
		// A duplicate of the claim took the same id again after it expired. Its holder goes on with
		// the generator of the first claim, floor and all.
		if ts := m.byGen[c.ID]; ts[len(ts)-1] == old {
			old.ceiling = later(old.ceiling, c.Mark)
			return c, nil
		}
		// Another tenure came between: the old one is revived, as a tenure after it. Its holder
		// may yet renew and issue with it, over the IDs of the tenures between.
		ts := m.byGen[c.ID]
		last := ts[len(ts)-1]
		m.s.violate("revived", "generator %d: a claim of h%s/%d (token %.8s), applied again, holds the row again after the tenure of h%s/%d",
			c.ID, r.Holder.Host[1:], r.Holder.PID, r.Token, last.holder.Host[1:], last.holder.PID)
		t.floor, t.delivered = old.floor, time.Now()
	}
	m.seq++
	t.seq = m.seq
	m.ten[tenureKey{c.ID, r.Token}] = t
	m.byGen[c.ID] = append(m.byGen[c.ID], t)
	return c, nil
}

func (m *model) renew(id int64, token string, lease time.Duration, mark time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.a.Renew(context.Background(), id, token, lease, mark); err != nil {
		return err
	}
	stored := mark
	if ls, err := m.a.Leases(context.Background()); err == nil {
		for _, l := range ls {
			if l.ID == id {
				stored = l.Mark
			}
		}
	}
	m.renewed(id, token, lease, mark, stored)
	return nil
}

// renewed records a renewal the store applied with mark, after which it holds stored; it reports a
// mark that went down. m.mu must be held.
func (m *model) renewed(id int64, token string, lease time.Duration, mark, stored time.Time) {
	w := m.rows[id]
	if stored.Before(w.mark) {
		m.s.violate("mark-lowered", "generator %d: a renewal lowered the stored mark from %s to %s (token %.8s)",
			id, stamp(w.mark), stamp(stored), token)
	}
	w.expires, w.mark = m.now().Add(lease), stored
	if t := m.ten[tenureKey{id, token}]; t != nil {
		t.ceiling = later(t.ceiling, mark)
	}
}

func (m *model) release(id int64, token string, mark time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.a.Release(context.Background(), id, token, mark); err != nil {
		return err
	}
	m.rows[id] = &rowState{mark: mark}
	if t := m.ten[tenureKey{id, token}]; t != nil {
		t.released, t.relMark = true, mark
	}
	return nil
}

func (m *model) properties(defaults map[string]string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.a.Properties(context.Background(), defaults)
}

func (m *model) delivered(id int64, token string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.ten[tenureKey{id, token}]; t != nil {
		t.delivered = time.Now()
	}
}

// usableFree reports whether some id is free (released or expired by the store's clock) with a
// mark not ahead of t: an id a holder whose clock reads t could issue on at once.
func (m *model) usableFree(t time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for id := range poolSize {
		w := m.rows[id]
		if w == nil || ((w.token == "" || !now.Before(w.expires)) && !w.mark.After(t)) {
			return true
		}
	}
	return false
}

// errLost is what a caller whose reply was lost sees.
var errLost = errors.New("sim: connection reset (reply lost)")

// errDown is what a crashed holder's calls return: they never reach the store.
var errDown = errors.New("sim: holder is down")

// link is one holder incarnation's connection to the manifest. Its calls are sequential (the keeper
// makes them one at a time, and Close after the keeper stopped), so the fault of the n-th call comes
// from the n-th draw of the link's own stream, whatever other holders do.
type link struct {
	m   *model
	clk *clock
	rng *rand.Rand

	mu   sync.Mutex
	down bool
	heal time.Time // while cut off: when the partition ends
}

var _ snowfall.Assigner = (*link)(nil)

// fault is what happens to one call.
type fault struct {
	send, recv time.Duration // before the store applies it; before the reply arrives
	dup        bool          // the store applies it a second time, dupAfter later
	dupAfter   time.Duration
	lost       bool // applied, but the reply is lost
	dropped    bool // neither applied nor answered: the caller waits until its context ends
}

func (k *link) draw() fault {
	k.mu.Lock()
	defer k.mu.Unlock()
	r := k.rng
	var f fault
	switch u := r.IntN(100); {
	case u < 20:
		f.send = ms(500 + r.IntN(3500)) // slow: often past the caller's deadline
	case u < 40:
		f.send = ms(5 + r.IntN(200))
	default:
		f.send = ms(r.IntN(5))
	}
	f.recv = ms(r.IntN(5))
	if r.IntN(10) == 0 {
		f.recv = ms(r.IntN(500))
	}
	f.dup, f.dupAfter = r.IntN(100) < 6, ms(50+r.IntN(3000))
	if r.IntN(2) == 0 {
		f.dupAfter = ms(2000 + r.IntN(10000)) // a late duplicate: past the lease, and a tenure or two
	}
	f.lost = r.IntN(100) < 4
	f.dropped = r.IntN(100) < 1
	return f
}

// partition cuts the link off for d: calls sent meanwhile wait in the network until it heals, and
// are applied then (their callers have usually given up).
func (k *link) partition(d time.Duration) {
	k.mu.Lock()
	k.heal = time.Now().Add(d)
	k.mu.Unlock()
}

// cutOff returns how long a call sent now waits for the partition to heal.
func (k *link) cutOff() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return max(time.Until(k.heal), 0)
}

func (k *link) kill() {
	k.mu.Lock()
	k.down = true
	k.mu.Unlock()
}

func (k *link) isDown() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.down
}

type reply[T any] struct {
	v   T
	err error
}

// call sends one call through the network: it is applied after f.send, and again later if
// duplicated (with again, if not nil, instead of apply); its reply comes back after f.recv, or is
// lost. The caller gives up when ctx ends; the call is still applied when its time comes. A dropped
// call (a connection that silently lost its packets) is never applied nor answered: only ctx ends
// the wait.
func call[T any](ctx context.Context, k *link, apply func() (T, error), again func()) (T, error) {
	var zero T
	f := k.draw()
	k.clk.waitThaw() // a frozen process sends nothing
	if k.isDown() {
		return zero, errDown
	}
	s := k.m.s
	if f.dropped {
		s.count("dropped")
		<-ctx.Done()
		return zero, ctx.Err()
	}
	if f.send >= 500*time.Millisecond {
		s.count("slow")
	}
	if f.dup {
		s.count("dup")
	}
	if f.lost {
		s.count("lost")
	}
	if d := k.cutOff(); d > 0 {
		s.count("cut-off")
		f.send += d
	}
	out := make(chan reply[T], 1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		time.Sleep(f.send)
		v, err := apply()
		if f.dup {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				time.Sleep(f.dupAfter)
				if again != nil {
					again()
				} else {
					apply()
				}
			}()
		}
		time.Sleep(f.recv)
		if f.lost {
			out <- reply[T]{zero, errLost}
			return
		}
		out <- reply[T]{v, err}
	}()
	select {
	case r := <-out:
		return r.v, r.err
	case <-ctx.Done():
		s.count("gave-up")
		return zero, ctx.Err()
	}
}

// Properties implements snowfall.Assigner.
func (k *link) Properties(ctx context.Context, defaults map[string]string) (map[string]string, error) {
	return call(ctx, k, func() (map[string]string, error) { return k.m.properties(defaults) }, nil)
}

// Free implements snowfall.Assigner.
func (k *link) Free(ctx context.Context, r snowfall.FreeRequest) ([]snowfall.FreeID, error) {
	return call(ctx, k, func() ([]snowfall.FreeID, error) { return k.m.free(r) }, nil)
}

// Claim implements snowfall.Assigner. With Options.UnconditionedReplays, a duplicate of the claim
// is applied to the row as it is when the duplicate arrives, not as the claimer read it.
func (k *link) Claim(ctx context.Context, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	var again func()
	if k.m.s.opts.UnconditionedReplays {
		again = func() { k.m.claimAsIs(r) }
	}
	c, err := call(ctx, k, func() (snowfall.Claim, error) { return k.m.claim(r) }, again)
	if err == nil {
		k.m.delivered(c.ID, r.Token)
	}
	return c, err
}

// Renew implements snowfall.Assigner.
func (k *link) Renew(ctx context.Context, id int64, token string, lease time.Duration, mark time.Time) error {
	_, err := call(ctx, k, func() (struct{}, error) { return struct{}{}, k.m.renew(id, token, lease, mark) }, nil)
	return err
}

// Release implements snowfall.Assigner.
func (k *link) Release(ctx context.Context, id int64, token string, mark time.Time) error {
	_, err := call(ctx, k, func() (struct{}, error) { return struct{}{}, k.m.release(id, token, mark) }, nil)
	return err
}

// Leases implements snowfall.Assigner; the lease code never calls it.
func (k *link) Leases(ctx context.Context) ([]snowfall.LeaseRecord, error) {
	return nil, fmt.Errorf("sim: Leases is not simulated")
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func stamp(t time.Time) string { return t.UTC().Format("15:04:05.000") }
