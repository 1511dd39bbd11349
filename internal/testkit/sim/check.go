package sim

import (
	"fmt"

	"github.com/snowfall-go/snowfall"
)

// check runs the checks that need the whole run (duplicates and stalls are reported as they
// happen, lowered marks as the store applies them):
//
//   - fence: every ID lies in a tenure of its generator id that its holder was told of before the
//     call returned, above that tenure's floor and at or below the highest mark it recorded;
//   - after-release: an ID of a released tenure lies at or below the mark the release recorded
//     (Close covers the calls in flight);
//   - order: IDs of one generator id increase from tenure to tenure in the order the store applied
//     the claims, and along each worker's calls within a tenure.
func (s *sim) check() {
	m := s.m
	last := map[[3]int]*struct {
		id snowfall.ID
		t  *tenure
	}{}
	for _, r := range s.recs {
		p, _ := layout.Decode(r.id)
		t, ok := s.attribute(r, p)
		if t == nil {
			s.violateAt(r.end, "fence", "%d %s issued by h%d/%d at %s, which held no tenure of generator %d", r.id, describe(r.id),
				r.inst.slot, r.inst.inc, stamp(r.end), p.Generator)
			continue
		}
		if !ok {
			s.violateAt(r.end, "fence", "%d %s issued by h%d/%d at %s outside its tenure's range (floor %s, ceiling %s]", r.id,
				describe(r.id), r.inst.slot, r.inst.inc, stamp(r.end), stamp(t.floor), stamp(t.ceiling))
		} else if t.released && layout.Ticks(p.Time) > layout.Ticks(t.relMark) {
			s.violateAt(r.end, "after-release", "%d %s issued by h%d/%d in a call %s-%s, above the mark %s its Close released",
				r.id, describe(r.id), r.inst.slot, r.inst.inc, stamp(r.start), stamp(r.end), stamp(t.relMark))
		}
		if t.ids == 0 || r.id < t.minID {
			t.minID = r.id
		}
		if t.ids == 0 || r.id > t.maxID {
			t.maxID = r.id
		}
		t.ids++
		k := [3]int{r.inst.slot, r.inst.inc, r.worker}
		if l := last[k]; l != nil && l.t == t && r.id <= l.id {
			s.violateAt(r.end, "order", "worker h%d/%d#%d got %d %s after %d %s", r.inst.slot, r.inst.inc, r.worker,
				r.id, describe(r.id), l.id, describe(l.id))
		}
		last[k] = &struct {
			id snowfall.ID
			t  *tenure
		}{r.id, t}
	}
	s.classify()
	for gen, ts := range m.byGen {
		var prev *tenure
		for _, t := range ts {
			if t.ids == 0 {
				continue
			}
			if prev != nil && t.minID <= prev.maxID {
				s.res.Causes["order:"+cause(prev, t, prev.maxID)]++
				s.violate("order", "generator %d: tenure of h%s/%d (claimed %s, floor %s) issued %d %s, not above %d %s of the "+
					"earlier tenure of h%s/%d (claimed %s)", gen, t.holder.Host[1:], t.holder.PID, stamp(t.applied),
					stamp(t.floor), t.minID, describe(t.minID), prev.maxID, describe(prev.maxID), prev.holder.Host[1:],
					prev.holder.PID, stamp(prev.applied))
			}
			if prev == nil || t.maxID > prev.maxID {
				prev = t
			}
		}
	}
}

// cause names why a later tenure could issue an ID at or below id of an earlier one: close-race
// when the earlier tenure issued id above the mark its Close released (defect 1), lowered-mark
// when the later tenure's floor lies below what the earlier tenure recorded and issued (defect 2).
func cause(earlier, later *tenure, id snowfall.ID) string {
	p, _ := layout.Decode(id)
	switch {
	case earlier.released && layout.Ticks(p.Time) > layout.Ticks(earlier.relMark):
		return "close-race"
	case !earlier.released && layout.Ticks(later.floor) < layout.Ticks(p.Time):
		return "lowered-mark"
	}
	return "other"
}

// classify finds the cause of each duplicate (see cause).
func (s *sim) classify() {
	for _, d := range s.dups {
		p, _ := layout.Decode(d[0].id)
		a, _ := s.attribute(d[0], p)
		b, _ := s.attribute(d[1], p)
		c := "other"
		if a != nil && b != nil && a != b {
			if a.seq > b.seq {
				a, b = b, a
			}
			c = cause(a, b, d[0].id)
		}
		s.res.Causes["duplicate:"+c]++
	}
}

// attribute finds the tenure an ID came from: one of its generator id, claimed for its holder and
// delivered before the call returned. Among several, the latest whose range holds the ID (ok), else
// the latest.
func (s *sim) attribute(r record, p snowfall.Decoded) (t *tenure, ok bool) {
	host := fmt.Sprintf("h%d", r.inst.slot)
	for _, c := range s.m.byGen[p.Generator] {
		if c.holder.Host != host || c.holder.PID != int64(r.inst.inc) || c.delivered.IsZero() || c.delivered.After(r.end) {
			continue
		}
		in := layout.Ticks(p.Time) > layout.Ticks(c.floor) && layout.Ticks(p.Time) <= layout.Ticks(c.ceiling)
		if in || !ok {
			t, ok = c, in
		}
	}
	return t, ok
}
