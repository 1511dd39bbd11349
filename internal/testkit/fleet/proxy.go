package fleet

import (
	"errors"
	"strings"
)

// Proxy is what the fleet needs of a cuttable TCP proxy such as internal/testkit/faultproxy: the
// servers of a slot reach the database through it, and a fault cuts it off.
type Proxy interface {
	Addr() string
	Cut()
	Restore()
	Close() error
}

// proxies are the proxies of one slot, one per database endpoint, cut and restored together.
type proxies []Proxy

func (ps proxies) Addr() string {
	addrs := make([]string, len(ps))
	for i, p := range ps {
		addrs[i] = p.Addr()
	}
	return strings.Join(addrs, ",")
}

func (ps proxies) Cut() {
	for _, p := range ps {
		p.Cut()
	}
}

func (ps proxies) Restore() {
	for _, p := range ps {
		p.Restore()
	}
}

func (ps proxies) Close() error {
	var first error
	for _, p := range ps {
		first = cmpErr(first, p.Close())
	}
	return first
}

// Cut cuts slot i off the database.
func (f *Fleet) Cut(i int) error {
	s := f.slots[i]
	if s.proxy == nil {
		return errors.New("fleet: no proxy to cut")
	}
	f.cfg.Logf("%6.1fs server %d: database cut off", f.Since().Seconds(), i)
	s.proxy.Cut()
	return nil
}

// Restore reconnects slot i to the database.
func (f *Fleet) Restore(i int) {
	if s := f.slots[i]; s.proxy != nil {
		f.cfg.Logf("%6.1fs server %d: database restored", f.Since().Seconds(), i)
		s.proxy.Restore()
	}
}
