package snowfall

import (
	"reflect"
	"sync"
)

// The claims of one process through one Assigner (many Leased generators started at once, as tests
// and benchmarks do) would all read the same free ids and try the same one first. Each claim takes a
// ticket instead: 0 when no other claim through that Assigner is in flight, one more than the last
// otherwise, and starts at the ticket-th free id (modulo the ids read), so that such claims spread
// over the free ids without a conflict each. A lone claim, and the first of a burst, start at the
// preferred id. Claims of other processes do not share tickets; they spread after their conflicts
// (see Leased.claim).
var claimTickets = struct {
	sync.Mutex
	m map[Assigner]*ticketQueue
}{m: map[Assigner]*ticketQueue{}}

type ticketQueue struct{ inflight, next int }

// takeTicket returns the ticket of a claim through a, and how many claims through a were in flight
// before it; done ends the claim. An Assigner that cannot be a map key always gets ticket 0.
func takeTicket(a Assigner) (ticket, inflight int, done func()) {
	if v := reflect.ValueOf(a); !v.IsValid() || !v.Comparable() {
		return 0, 0, func() {}
	}
	claimTickets.Lock()
	q := claimTickets.m[a]
	if q == nil {
		q = &ticketQueue{}
		claimTickets.m[a] = q
	}
	ticket, inflight = q.next, q.inflight
	q.next++
	q.inflight++
	claimTickets.Unlock()
	return ticket, inflight, func() {
		claimTickets.Lock()
		if q.inflight--; q.inflight == 0 {
			delete(claimTickets.m, a)
		}
		claimTickets.Unlock()
	}
}
