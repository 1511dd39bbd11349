package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall"
)

// instance is one incarnation of a holder: one snowfall.Leased, from NewLeased to its Close or crash.
type instance struct {
	slot, inc int
	right     bool // its clock stays within MaxBackwards/2 of the true time: the liveness check applies
	l         *snowfall.Leased
	stop      atomic.Bool

	mu       sync.Mutex
	stuck    time.Time // the first ClockBackwardsError since the last ID, or zero
	reported bool
}

// slot is one holder host: it runs incarnations one after another until the run ends. Every
// decision it makes comes from its own streams.
type slot struct {
	s   *sim
	i   int
	clk *clock
}

func (h *slot) run() {
	defer h.s.wg.Done()
	for inc := 0; !h.s.over(); inc++ {
		r := h.s.stream(tagSlot, uint64(h.i), uint64(inc))
		inst := &instance{slot: h.i, inc: inc, right: r.IntN(100) >= 20}
		if inst.right {
			h.clk.setOffset(ms(r.IntN(801) - 400))
		} else {
			h.s.count("skew")
			h.clk.setOffset(wrongOffset(r))
		}
		base := h.clk.getOffset()
		life, crash, pause := ms(300+r.IntN(1700)), r.IntN(100) < 35, ms(r.IntN(600))
		if r.IntN(2) == 0 {
			life = ms(2000 + r.IntN(13000)) // a long life, through many renewals
		}
		k := &link{m: h.s.m, clk: h.clk, rng: h.s.stream(tagLink, uint64(h.i), uint64(inc))}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		l, err := snowfall.NewLeased(ctx, k, snowfall.LeaseSettings{Layout: layout, Probe: probe, Clock: h.clk,
			Holder: snowfall.Holder{Host: fmt.Sprintf("h%d", h.i), PID: int64(inc)}})
		cancel()
		if err != nil {
			h.s.sleep(ms(100 + r.IntN(900)))
			continue
		}
		inst.l = l
		h.s.count("holders")
		for w := range workers {
			h.s.wg.Add(1)
			go h.work(inst, w)
		}
		h.s.wg.Add(1)
		go h.chaos(inst, k, base)
		h.s.sleep(life)
		inst.stop.Store(true)
		if crash {
			h.s.count("crash")
			k.kill() // nothing it sends reaches the store any more; Close below only stops its goroutines
		} else {
			h.s.count("close")
		}
		l.Close() // races the workers' calls in flight, which go on after it
		h.s.sleep(pause)
	}
}

// wrongOffset is a clock far off: an hour either way, or 2 to 5 s.
func wrongOffset(r *rand.Rand) time.Duration {
	switch r.IntN(4) {
	case 0:
		return time.Hour
	case 1:
		return -time.Hour
	default:
		return ms((2000 + r.IntN(3000)) * (1 - 2*r.IntN(2)))
	}
}

// chaos steps the incarnation's clock around base (a right clock within ±400 ms of the true time, a
// wrong one within ±2 s of base), freezes it (the whole process stopped) and cuts its link off (a
// network partition: its calls wait and arrive when it heals), until inst stops.
func (h *slot) chaos(inst *instance, k *link, base time.Duration) {
	defer h.s.wg.Done()
	r := h.s.stream(tagChaos, uint64(h.i), uint64(inst.inc))
	for {
		h.s.sleep(ms(200 + r.IntN(5000)))
		if inst.stop.Load() || h.s.over() {
			return
		}
		u, off, d := r.IntN(100), r.IntN(801)-400, ms(300+r.IntN(4000))
		switch {
		case u < 40:
			h.s.count("step")
			if inst.right {
				h.clk.setOffset(ms(off))
			} else {
				h.clk.setOffset(base + ms(off*5))
			}
		case u < 60:
			h.s.count("freeze")
			h.clk.freeze(d)
		case u < 70:
			h.s.count("partition")
			k.partition(2*d + ms(r.IntN(2000)))
		}
	}
}

// work issues IDs on inst with Next and Fill until inst stops, sometimes preempted between the
// permit load and the clock read.
func (h *slot) work(inst *instance, w int) {
	defer h.s.wg.Done()
	r := h.s.stream(tagWorker, uint64(h.i), uint64(inst.inc), uint64(w))
	buf := make([]snowfall.ID, 16)
	for !inst.stop.Load() {
		gap, fill, n := ms(1+r.IntN(30)), r.IntN(4) == 0, 1+r.IntN(len(buf))
		pre, d := r.IntN(400) == 0, ms(1+r.IntN(800))
		h.s.sleep(gap)
		if inst.stop.Load() || h.s.over() {
			return
		}
		if pre {
			h.s.count("preempt")
			h.clk.arm(d)
		}
		start := time.Now()
		var ids []snowfall.ID
		var err error
		if fill {
			n, err = inst.l.Fill(context.Background(), buf[:n])
			ids = buf[:n]
		} else {
			var id snowfall.ID
			if id, err = inst.l.Next(); err == nil {
				ids = buf[:1]
				ids[0] = id
			}
		}
		if pre {
			h.clk.disarm(goid())
		}
		h.s.issued(inst, w, ids, start)
		h.liveness(inst, err)
	}
}

// liveness counts a stall: a holder with a right clock that has issued nothing for longer than
// stallAfter since a ClockBackwardsError (fenced calls in between do not end the stall) while an id
// whose mark is not ahead of its clock is free.
//
// A holder fenced for long is not counted: the network's slow calls and the freezes fence a holder
// for a long while by design.
func (h *slot) liveness(inst *instance, err error) {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	switch {
	case err == nil:
		inst.stuck = time.Time{}
	case !errors.Is(err, snowfall.ErrClockBackwards) || !inst.right || inst.reported || inst.stop.Load():
	case inst.stuck.IsZero():
		inst.stuck = time.Now()
	case time.Since(inst.stuck) > stallAfter && h.s.m.usableFree(h.clk.peek()):
		inst.reported = true
		h.s.violate("stall", "holder h%d/%d (clock right, offset %v) on generator %d has got ClockBackwardsError for %v "+
			"while ids with marks not ahead of its clock are free: %v", inst.slot, inst.inc, h.clk.getOffset(),
			inst.l.Lease().GeneratorID, time.Since(inst.stuck), err)
	}
}
