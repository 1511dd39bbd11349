package etcdassign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/snowfall-go/snowfall"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Renewals go through one client per endpoint, not through the Assigner's main client. The main
// client balances calls round-robin over the members whose connection is up, and a frozen member's
// connection stays up (its kernel still acknowledges) until a keep-alive ping goes unanswered,
// which gRPC sends at the earliest 10 s after the last byte read: meanwhile a third of the calls
// wait on it for their whole deadline. With a client per endpoint a renewal chooses the member of
// each attempt: it starts on the member that answered last; when an attempt has not answered
// within its share of the renewal's time, or failed, the next attempt starts on another member,
// and the first good answer wins (hedge). A member that failed or was overtaken goes to the back
// of the order until it answers again.
//
// A renewal's attempts may all apply, late, in any order, and each is safe: its keep-alive only
// extends the etcd lease from the leader's now, which never shortens what the holder relies on;
// its transaction applies only if gen/<id> still holds the token on the etcd lease it kept alive
// and mark/<id> is still at the revision it read, and then writes the larger of that mark and the
// asked one, so a late attempt finds the revision moved and writes nothing, and no attempt lowers
// the mark. An attempt that finds the revision moved reads the stored mark and reports success
// only if it is already at least the asked one while the token holds, as it is when a twin
// attempt applied first.

// member is one endpoint of the cluster with a client of its own.
type member struct {
	ep string
	c  *clientv3.Client // nil until built

	// Guarded by Assigner.mu.
	building bool
	slow     time.Time // when an attempt through it last failed or was overtaken; zero once it answers
	won      time.Time // when it last answered a renewal first
}

// memberConfig returns the client configuration of one member, with its timeouts derived from the
// lease: a connection is declared dead lease/4 after an unanswered keep-alive ping, a connection
// attempt gives up after lease/2, and a member that refused is tried again within a lease.
// gRPC sends keep-alive pings no sooner than 10 s after the last byte read (its floor), so the
// per-attempt bound of a renewal, not the keep-alive, is what keeps a renewal off a frozen member.
func (a *Assigner) memberConfig(ep string, lease time.Duration) clientv3.Config {
	return clientv3.Config{
		Endpoints:            []string{ep},
		DialTimeout:          lease / 2, // the first authentication, when the URL has a user
		DialKeepAliveTime:    max(lease/2, 10*time.Second),
		DialKeepAliveTimeout: max(lease/4, 50*time.Millisecond),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{BaseDelay: max(lease/10, 20*time.Millisecond), Multiplier: 1.6, Jitter: 0.2,
				MaxDelay: max(lease, 100*time.Millisecond)},
			MinConnectTimeout: max(lease/2, 100*time.Millisecond),
		})},
		Username: a.t.user,
		Password: a.t.password,
		TLS:      a.t.tls,
		Context:  a.ctx,
		Logger:   zap.NewNop(),
	}
}

// ready returns the members whose client is built, building the others; the first call creates
// the members, configured for lease. It returns none for a cluster of one endpoint, whose only
// client is the main one.
func (a *Assigner) ready(lease time.Duration) []*member {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.t.endpoints) < 2 || a.ctx.Err() != nil {
		return nil
	}
	if a.members == nil {
		for _, ep := range a.t.endpoints {
			a.members = append(a.members, &member{ep: ep})
		}
		a.memberLease = lease
	}
	var out []*member
	for _, m := range a.members {
		if m.c == nil && !m.building {
			a.build(m)
		}
		if m.c != nil {
			out = append(out, m)
		}
	}
	return out
}

// build builds m's client; a.mu is held. Without a user, clientv3.New does no I/O (gRPC connects
// lazily), so it builds at once. With one, New authenticates through the member, within its
// DialTimeout: that happens in the background, and a member that fails is built again at a later
// renewal; renewals meanwhile use the members that are ready, or the main client.
func (a *Assigner) build(m *member) {
	cfg := a.memberConfig(m.ep, a.memberLease)
	if a.t.user == "" {
		if c, err := clientv3.New(cfg); err == nil {
			m.c = c
		}
		return
	}
	m.building = true
	a.wg.Go(func() { // a.mu is held and a.ctx is live (ready checked): Close has not begun its Wait
		c, err := clientv3.New(cfg)
		a.mu.Lock()
		defer a.mu.Unlock()
		m.building = false
		if err != nil {
			return
		}
		if a.ctx.Err() != nil {
			c.Close()
			return
		}
		m.c = c
	})
}

// order returns ms healthiest first: the members that answered since they last failed, the one
// that won last first; then the others, the one that failed longest ago first.
func (a *Assigner) order(ms []*member) []*member {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := slices.Clone(ms)
	slices.SortStableFunc(out, func(x, y *member) int {
		switch {
		case x.slow.IsZero() != y.slow.IsZero():
			if x.slow.IsZero() {
				return -1
			}
			return 1
		case !x.slow.IsZero():
			return x.slow.Compare(y.slow)
		}
		return y.won.Compare(x.won)
	})
	return out
}

// attemptResult is the outcome of one attempt.
type attemptResult struct {
	m     *member
	start time.Time
	t     tenure
	err   error
}

// final reports whether err is the store's answer rather than a failure to get one: the lease is
// lost, or mark/<id> holds no mark. Another attempt would get the same answer.
func final(err error) bool {
	var me *markError
	return errors.Is(err, snowfall.ErrLeaseLost) || errors.As(err, &me)
}

// hedge runs attempt through the members ms until one succeeds or gets a final answer, or ctx
// ends. Attempts start in the order of health; the next starts when the last one failed or when
// none has answered within step, the renewal's time (ctx's deadline, else lease) divided among
// the members and one more, so that an attempt started after every member was tried can still
// finish (after a leader election, say). Once every member was tried, failures start no new
// attempt before the next step, so that members that fail fast (no leader) are not hammered.
// Attempts still running when hedge returns are cancelled.
func (a *Assigner) hedge(ctx context.Context, lease time.Duration, ms []*member, attempt func(context.Context, *clientv3.Client) (tenure, error)) (tenure, error) {
	order := a.order(ms)
	budget := lease
	if d, ok := ctx.Deadline(); ok {
		budget = time.Until(d)
	}
	step := max(budget/time.Duration(len(order)+1), time.Millisecond)
	actx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	defer context.AfterFunc(a.ctx, cancel)() // Close ends the attempts, then waits for them
	results := make(chan attemptResult, 2*len(order)+2)
	var running []attemptResult // started and not finished: m and start
	started := 0
	start := func() bool {
		m := order[started%len(order)]
		s := time.Now()
		ok := a.spawn(func() {
			t, err := attempt(actx, m.c)
			results <- attemptResult{m: m, start: s, t: t, err: err}
		})
		if ok {
			started++
			running = append(running, attemptResult{m: m, start: s})
		}
		return ok
	}
	if !start() {
		return tenure{}, errClosed
	}
	timer := time.NewTimer(step)
	defer timer.Stop()
	var last error
	for {
		select {
		case r := <-results:
			running = slices.DeleteFunc(running, func(x attemptResult) bool { return x.m == r.m && x.start.Equal(r.start) })
			if r.err == nil || final(r.err) {
				a.settle(r, running)
				return r.t, r.err
			}
			if ctx.Err() != nil { // the attempt ended with the renewal's deadline
				a.settle(attemptResult{}, append(running, r))
				return tenure{}, fmt.Errorf("%w (%d attempts on %d members; the last: %w)", ctx.Err(), started, len(order), r.err)
			}
			a.failed(r.m)
			last = r.err
			switch {
			case started < len(order):
				if !start() {
					return tenure{}, errClosed
				}
				timer.Reset(step)
			case len(running) == 0 && started >= cap(results):
				return tenure{}, fmt.Errorf("%d attempts on %d members failed, the last: %w", started, len(order), last)
			}
		case <-timer.C:
			if started < cap(results) && !start() {
				return tenure{}, errClosed
			}
			timer.Reset(step)
		case <-ctx.Done():
			a.settle(attemptResult{}, running)
			if last == nil {
				return tenure{}, fmt.Errorf("%w (%d attempts on %d members)", ctx.Err(), started, len(order))
			}
			return tenure{}, fmt.Errorf("%w (%d attempts on %d members; the last to fail: %w)", ctx.Err(), started, len(order), last)
		}
	}
}

var errClosed = errors.New("the Assigner is closed")

// spawn runs f in a goroutine that Close waits for, unless the Assigner is closed.
func (a *Assigner) spawn(f func()) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx.Err() != nil {
		return false
	}
	a.wg.Go(f)
	return true
}

// failed records that an attempt through m failed.
func (a *Assigner) failed(m *member) {
	a.mu.Lock()
	if m.slow.IsZero() {
		m.slow = time.Now()
	}
	a.mu.Unlock()
}

// settle records the winner r (if r.m is not nil, else the deadline passed) and the attempts
// still running that it overtook: those that started before it.
func (a *Assigner) settle(r attemptResult, running []attemptResult) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, o := range running {
		if o.m != r.m && o.m.slow.IsZero() && (r.m == nil || o.start.Before(r.start)) {
			o.m.slow = now
		}
	}
	if r.m != nil {
		r.m.slow, r.m.won = time.Time{}, now
	}
}

// closeMembers closes the members' clients; a.ctx has been cancelled, so that none is built after.
func (a *Assigner) closeMembers() {
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.members {
		if m.c != nil {
			m.c.Close()
			m.c = nil
		}
	}
}
