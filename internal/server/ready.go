package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
)

// readier is implemented by sources that can say whether they would issue now without issuing
// (*snowfall.Generator, *snowfall.Leased, *statefile.Source).
type readier interface {
	Ready() error
}

// notReady returns why the source cannot issue an ID now, or nil. It spends no ID.
func (s *Server) notReady() error {
	if s.draining.Load() {
		return errDraining
	}
	if err := s.leaseNotHeld(); err != nil {
		return err
	}
	if r, ok := s.src.(readier); ok {
		return r.Ready()
	}
	return s.src.Stats().Fenced
}

// errDraining is why a server that is shutting down is not ready: it still answers during its
// drain delay, so that load balancers stop sending to it before it stops accepting.
var errDraining = errors.New("server: draining: shutting down")

// leaseNotHeld returns a leaseError when the source holds a lease and it is not held, else nil.
func (s *Server) leaseNotHeld() error {
	if s.lease != nil {
		if st := s.lease.Lease(); st.State != snowfall.LeaseHeld {
			return &leaseError{state: st.State, cause: st.LastError}
		}
	}
	return nil
}

// leaseAcquiring returns a leaseError when the source has not held a lease yet, else nil.
func (s *Server) leaseAcquiring() error {
	var le *leaseError
	if err := s.leaseNotHeld(); errors.As(err, &le) && le.state == snowfall.LeaseAcquiring {
		return le
	}
	return nil
}

// leaseError says that the lease does not let the source issue.
type leaseError struct {
	state snowfall.LeaseState
	cause error
}

func (e *leaseError) Error() string {
	if e.cause == nil {
		return "lease " + string(e.state)
	}
	return "lease " + string(e.state) + ": " + e.cause.Error()
}

func (e *leaseError) Unwrap() error { return e.cause }

// publicReason says why an ID cannot be issued in words fit for anonymous clients: what is wrong
// and until when, never a database address, user, name or file path. The details go to the log.
func publicReason(err error, now time.Time) string {
	var back *snowfall.ClockBackwardsError
	var le *leaseError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errDraining):
		return "shutting down: this server stops accepting connections soon; use another"
	case errors.As(err, &le):
		switch le.state {
		case snowfall.LeaseFenced:
			return "lease in doubt: renewals are failing, so this server stopped issuing until one succeeds"
		case snowfall.LeaseLost:
			return "no lease: this server is claiming a generator id"
		case snowfall.LeaseClosed:
			return "shutting down"
		case snowfall.LeaseAcquiring:
			return "no lease yet: this server is acquiring a generator id; " + acquiringWhy(le.cause)
		}
		return "lease " + string(le.state)
	case errors.As(err, &back):
		return "clock behind the last issued time by " + back.Behind.Round(time.Millisecond).String() +
			": ready again at about " + now.Add(back.Behind).UTC().Format(time.RFC3339)
	case errors.Is(err, snowfall.ErrTimeOverflow):
		return "the layout's time field ran out: this server can issue no more IDs"
	case errors.Is(err, snowfall.ErrClosed):
		return "shutting down"
	case errors.Is(err, errBusy):
		return "busy: too many batch requests at once"
	case errors.Is(err, context.DeadlineExceeded):
		return "no ID could be issued in time"
	case errors.Is(err, snowfall.ErrFenced):
		return "generator fenced: its high-water mark or lease was not renewed in time"
	case errors.Is(err, snowfall.ErrNoFreeGenerator):
		return "no free generator id"
	case errors.Is(err, snowfall.ErrMismatch):
		return "configuration mismatch with the lease store"
	}
	return "cannot issue IDs now (details in the server log)"
}

// acquiringWhy says why a lease is not acquired yet, from the last claim's error.
func acquiringWhy(err error) string {
	switch {
	case err == nil:
		return "the first attempt is under way"
	case errors.Is(err, snowfall.ErrClockBackwards):
		return "the free ids' high-water marks are ahead of this server's clock, so it retries until its clock passes them"
	case errors.Is(err, snowfall.ErrNoFreeGenerator):
		return "every generator id is held, so it retries until one is free"
	}
	return "the lease store cannot be reached or refused the claim, so it retries (details in the server log)"
}

// retryAfter returns the Retry-After value for err: the seconds until the clock passes the last
// issued time, a day once the layout ran out, else one second.
func retryAfter(err error) []string {
	var back *snowfall.ClockBackwardsError
	switch {
	case errors.As(err, &back) && back.Behind > time.Second:
		return []string{strconv.FormatInt(int64((back.Behind+time.Second-1)/time.Second), 10)}
	case errors.Is(err, snowfall.ErrTimeOverflow):
		return []string{"86400"}
	}
	return retryOne
}

// readyLog logs each change of readiness once, with the full error: the details public answers
// leave out. Readiness is what /readyz answers (notReady), whichever request looks at it: an ID
// request refused with the generator's error and a probe refused with the lease's see the same
// state. A change is a change of kind (see readinessKind), not of wording: the wait left and a
// failing store's words change with every request while the state stays the same, and anonymous
// requests must not grow the log. Refusals are counted instead
// (snowfall_id_requests_refused_total). The state is read, compared and logged under one lock, so
// that the lines come out in the order of the changes, each once.
type readyLog struct {
	mu   sync.Mutex
	last string
}

// readinessKind names the state err puts the server in, leaving out what changes while it lasts
// (the wait left, how long ago a renewal failed, why the store refused, a driver's wording).
func readinessKind(err error) string {
	var le *leaseError
	switch {
	case err == nil:
		return "ready"
	case errors.As(err, &le):
		return "lease " + string(le.state)
	case errors.Is(err, errDraining):
		return "draining"
	case errors.Is(err, snowfall.ErrClockBackwards):
		return "clock behind"
	case errors.Is(err, snowfall.ErrTimeOverflow):
		return "layout ran out"
	case errors.Is(err, snowfall.ErrClosed):
		return "closed"
	case errors.Is(err, snowfall.ErrFenced):
		return "fenced"
	case errors.Is(err, snowfall.ErrNoFreeGenerator):
		return "no free generator id"
	case errors.Is(err, snowfall.ErrMismatch):
		return "mismatch"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "other"
}

// checkReady returns why the source cannot issue an ID now, or nil (see notReady), and logs it
// when that is a change.
func (s *Server) checkReady() error {
	s.readyLog.mu.Lock()
	defer s.readyLog.mu.Unlock()
	err := s.notReady()
	kind := readinessKind(err)
	last := s.readyLog.last
	s.readyLog.last = kind
	switch {
	case kind == last:
	case last == "" && err == nil: // ready from the start: nothing to say
	case kind == "draining": // Serve said so when it began, and ID requests are still served
	case err == nil:
		s.log.Info("ready: IDs are issued again")
	default:
		var back *snowfall.ClockBackwardsError
		var le *leaseError
		switch {
		case errors.As(err, &back):
			s.log.Warn("not ready: the clock is behind the last issued time or the recorded high-water mark; ID requests get 503 until it passes",
				"wait", back.Behind.Round(time.Millisecond).String(), "until", s.now().Add(back.Behind).UTC().Format(time.RFC3339), "err", err)
		case errors.As(err, &le) && le.state == snowfall.LeaseAcquiring:
			// Without the last attempt's error: the acquirer logs each cause itself, and whether
			// its first attempt had ended when this line was written is a race.
			s.log.Info("not ready yet: acquiring a lease; ID requests get 503 until it is held")
		default:
			s.log.Warn("not ready: ID requests get 503", "err", err)
		}
	}
	return err
}

// serveReady answers GET /readyz and /healthz: 200 "ok" while the source would issue an ID now,
// else 503 with Retry-After and the reason. It spends no ID.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) int {
	h := w.Header()
	h["Content-Type"] = textType
	err := s.checkReady()
	if err != nil {
		h["Retry-After"] = retryAfter(err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(publicReason(err, s.now()) + "\n"))
		return http.StatusServiceUnavailable
	}
	w.Write(okBody)
	return http.StatusOK
}

// serveLive answers GET /livez: 200 while the process serves HTTP, whatever the database or clock.
func (s *Server) serveLive(w http.ResponseWriter, r *http.Request) int {
	w.Header()["Content-Type"] = textType
	w.Write(okBody)
	return http.StatusOK
}
