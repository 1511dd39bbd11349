package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
)

// learnState is the progress of learning the layout from GET /stats.
type learnState struct {
	running chan struct{} // closed when the request in flight ends; nil when none is
	fails   int           // requests in a row that failed or named no readable layout
	retryAt time.Time     // no request before then
}

// The pause before GET /stats is asked again, after a request that failed or named no readable
// layout: learnRetryMin, doubling up to learnRetryMax.
const (
	learnRetryMin = time.Second
	learnRetryMax = time.Minute
)

// learnLayout makes sure the layout of every server is being learned before an ID request: for
// each server whose layout is unknown and whose GET /stats is neither in flight nor pausing, it
// asks that server's GET /stats on a goroutine of the client. Each server's layout is its own:
// one server's /stats never changes how another server's IDs are read. It returns at once; the
// call sends its ID request meanwhile, and before it checks an answer it waits for the layout of
// the server that answered (layoutWait.wait) until its hedge delay after the call began (a quarter
// of its deadline, if less; not at all without hedging). Then it goes on: while a server's layout
// is unknown, its IDs are checked within their answer and against the IDs received before, and
// the latest maxEarly of them bound its generators once it is known (foldEarly).
func (c *Client) learnLayout(ctx context.Context) layoutWait {
	k := c.check
	if k.pinned != nil || k.learned.Load() {
		return layoutWait{}
	}
	k.mu.Lock()
	pending := false
	for _, s := range c.servers {
		sc := k.server(s.base)
		if sc.lay != nil {
			continue
		}
		pending = true
		if sc.learn.running == nil && !c.closed.Load() && !c.now().Before(sc.learn.retryAt) {
			ch := make(chan struct{})
			sc.learn.running = ch
			c.bg.Add(1)
			go c.learnOnce(s, ch)
		}
	}
	if !pending {
		k.learned.Store(true) // layouts once learned stay: no call needs to look again
	}
	k.mu.Unlock()
	if !pending {
		return layoutWait{}
	}
	wait := c.hedgeDelay(&c.other)
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)/4)
	}
	return layoutWait{c: c, until: time.Now().Add(wait)}
}

// layoutWait is how long an ID request waits for the layout being learned.
type layoutWait struct {
	c     *Client // nil for no wait
	until time.Time
}

// wait returns when the learning of s's layout ended (or none is under way), or at w.until, or
// when ctx ends.
func (w layoutWait) wait(ctx context.Context, s *endpoint) {
	if w.c == nil {
		return
	}
	k := w.c.check
	k.mu.Lock()
	ch := k.server(s.base).learn.running
	k.mu.Unlock()
	if ch == nil {
		return
	}
	d := time.Until(w.until)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// learnOnce asks s's GET /stats for its layout, within the client's timeout, and closes ch. The
// request goes to s alone and touches no server's health: only ID answers do.
func (c *Client) learnOnce(s *endpoint, ch chan struct{}) {
	defer c.bg.Done()
	ctx := c.bgCtx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	l, err := c.layoutOf(ctx, s)
	k := c.check
	k.mu.Lock()
	defer k.mu.Unlock()
	sc := k.server(s.base)
	sc.learn.running = nil
	close(ch)
	if err == nil {
		k.setLayout(s.base, l)
		sc.learn.fails = 0
		return
	}
	sc.learn.fails++
	pause := min(k.retryMin<<min(sc.learn.fails-1, 16), learnRetryMax)
	sc.learn.retryAt = c.now().Add(pause)
	c.log.Warn("snowfall layout not learned: this server's IDs are checked within each answer and against earlier ones only; asking again later",
		"server", s.base, "retry", pause, "err", err)
}

// layoutOf asks s's GET /stats for the layout of its IDs.
func (c *Client) layoutOf(ctx context.Context, s *endpoint) (snowfall.Layout, error) {
	b, err := c.send(ctx, s, request{op: "stats", path: "/stats", accept: "application/json", limit: 1 << 20})
	if err != nil {
		return snowfall.Layout{}, err
	}
	defer putBuf(b)
	var st api.Stats
	if err := json.Unmarshal(b.Bytes(), &st); err != nil {
		return snowfall.Layout{}, fmt.Errorf("%w: GET /stats: %w", ErrBadResponse, err)
	}
	if st.Spec == "" {
		return snowfall.Layout{}, errNoSpec
	}
	l, err := snowfall.ParseLayout(st.Spec)
	if err == nil && st.EpochMs != 0 {
		l, err = l.WithEpoch(time.UnixMilli(st.EpochMs))
	}
	return l, err
}

// errNoSpec is the failure of a GET /stats that names no layout (a pysnowflake server).
var errNoSpec = errors.New("its /stats names no layout")
