package client

import (
	"context"
	"errors"
	"time"

	"github.com/snowfall-go/snowfall"
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

// learnLayout makes sure the layout is being learned before an ID request: while it is unknown
// and no request for it is in flight or pausing, it asks GET /stats on a goroutine of the client.
// It returns at once; the call sends its ID request meanwhile, and before it checks the answer it
// waits for the layout (layoutWait.wait) until its hedge delay after the call began (a quarter of
// its deadline, if less; not at all without hedging). Then it goes on: while the layout is
// unknown, IDs are checked within their answer and against the IDs received before, and raise
// their generators' floors once it is known.
func (c *Client) learnLayout(ctx context.Context) layoutWait {
	k := c.check
	k.mu.Lock()
	if k.known {
		k.mu.Unlock()
		return layoutWait{}
	}
	ch := k.learn.running
	if ch == nil && !c.closed.Load() && !c.now().Before(k.learn.retryAt) {
		ch = make(chan struct{})
		k.learn.running = ch
		c.bg.Add(1)
		go c.learnOnce(ch)
	}
	k.mu.Unlock()
	if ch == nil {
		return layoutWait{}
	}
	wait := c.hedgeDelay(&c.other)
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)/4)
	}
	return layoutWait{ch: ch, until: time.Now().Add(wait)}
}

// layoutWait is how long an ID request waits for the layout being learned.
type layoutWait struct {
	ch    chan struct{} // closed when the learning ends; nil for no wait
	until time.Time
}

// wait returns when the learning ended, or at w.until, or when ctx ends.
func (w layoutWait) wait(ctx context.Context) {
	if w.ch == nil {
		return
	}
	d := time.Until(w.until)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// learnOnce asks GET /stats for the layout, within the client's timeout, and closes ch.
func (c *Client) learnOnce(ch chan struct{}) {
	defer c.bg.Done()
	ctx := c.bgCtx
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	st, err := c.Stats(ctx)
	var l snowfall.Layout
	if err == nil {
		l, err = snowfall.ParseLayout(st.Spec)
		if err == nil && st.EpochMs != 0 {
			l, err = l.WithEpoch(time.UnixMilli(st.EpochMs))
		}
		if st.Spec == "" {
			err = errNoSpec
		}
	}
	k := c.check
	k.mu.Lock()
	defer k.mu.Unlock()
	k.learn.running = nil
	close(ch)
	if err == nil {
		k.setLayout(l)
		k.foldEarly()
		k.learn.fails = 0
		return
	}
	k.learn.fails++
	pause := min(k.retryMin<<min(k.learn.fails-1, 16), learnRetryMax)
	k.learn.retryAt = c.now().Add(pause)
	c.log.Warn("snowfall layout not learned: IDs are checked within each answer and against earlier ones only; asking again later",
		"retry", pause, "err", err)
}

// errNoSpec is the failure of a GET /stats that names no layout (a pysnowflake server).
var errNoSpec = errors.New("its /stats names no layout")
