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
// The call waits for that request at most its hedge delay (a quarter of what is left of its
// deadline, if less; not at all without hedging), then goes on: its IDs are checked within their
// answer and against the IDs received before the layout was known, and raise their generators'
// floors once it is known.
func (c *Client) learnLayout(ctx context.Context) {
	k := c.check
	k.mu.Lock()
	if k.known {
		k.mu.Unlock()
		return
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
		return
	}
	wait := c.hedgeDelay(&c.other)
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d)/4)
	}
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ch:
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
