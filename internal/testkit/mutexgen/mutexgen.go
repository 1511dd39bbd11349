// Package mutexgen is a mutex-based Snowflake generator, the conventional design, kept only as the
// baseline that benchmarks compare the lock-free snowfall.Generator with. It reads the clock the
// same way and waits for the next tick by spinning with the lock held, as such generators do.
package mutexgen

import (
	"sync"
	"time"
)

// Generator issues (tick << (seqBits+nodeBits)) | seq << nodeBits | node IDs under a mutex.
type Generator struct {
	mu       sync.Mutex
	last     int64
	seq      int64
	seqMask  int64
	seqShift uint
	tShift   uint
	node     int64
	epoch    time.Time
	unit     int64
}

// New returns a generator with the given field widths; time takes the remaining bits.
func New(seqBits, nodeBits uint, node int64, epoch time.Time) *Generator {
	// Give the epoch a monotonic reading, so that time.Since reads only the monotonic clock, as
	// snowfall's system clock does: the baseline then differs in its locking alone.
	now := time.Now()
	epoch = now.Add(epoch.Sub(now))
	return &Generator{seqMask: 1<<seqBits - 1, seqShift: nodeBits, tShift: seqBits + nodeBits,
		node: node, epoch: epoch, unit: int64(time.Millisecond), last: -1}
}

// Next returns the next ID.
func (g *Generator) Next() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := int64(time.Since(g.epoch)) / g.unit
	if now == g.last {
		g.seq = (g.seq + 1) & g.seqMask
		if g.seq == 0 {
			for now <= g.last {
				now = int64(time.Since(g.epoch)) / g.unit
			}
		}
	} else {
		g.seq = 0
	}
	g.last = now
	return now<<g.tShift | g.seq<<g.seqShift | g.node
}
