package client

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/snowfall-go/snowfall"
)

// Defaults for the options.
const (
	// DefaultTimeout bounds each request to one server unless WithTimeout says otherwise; a call's
	// deadline shortens it.
	DefaultTimeout = 5 * time.Second
	// DefaultBackoff is how long a failed server sits out unless WithBackoff says otherwise.
	DefaultBackoff = 250 * time.Millisecond
	// DefaultHedgeMin and DefaultHedgeMax bound the hedge delay unless WithHedging says otherwise.
	DefaultHedgeMin = 10 * time.Millisecond
	DefaultHedgeMax = 50 * time.Millisecond
	// DefaultMaxSkew is how far ahead of the client's clock an ID may be dated unless WithMaxSkew
	// says otherwise.
	DefaultMaxSkew = 10 * time.Second
)

// maxRetryAfter bounds how long a server's Retry-After keeps it out of turn.
const maxRetryAfter = 5 * time.Second

// Policy is how a client with several servers picks the server for a call.
type Policy int

const (
	// Failover sends every call to the first server in order that is neither backing off nor slow.
	Failover Policy = iota
	// RoundRobin starts each call at the next server in turn, skipping those backing off or slow
	// while others are healthy: a server that hangs is ejected, not given every Nth call.
	RoundRobin
)

// Option configures a Client in New.
type Option func(*config) error

type config struct {
	servers    []string
	policy     Policy
	timeout    time.Duration
	backoff    time.Duration
	httpClient *http.Client
	logger     *slog.Logger
	prefetch   bool
	size, low  int
	maxAge     time.Duration
	now        func() time.Time
	layout     snowfall.Layout
	layoutSet  bool
	hedgeMin   time.Duration
	hedgeMax   time.Duration
	maxSkew    time.Duration
}

// WithMaxSkew sets how far the time of an ID may be from the client's clock (DefaultMaxSkew unless
// set), d in (0, 24h]. An answer holding an ID dated further ahead (a server whose clock runs far
// ahead, or a hostile one) is refused with a FutureError and the next server is asked, before the
// ID can raise its server's floor. An ID dated more than d behind is refused (ErrIDOrder) only when
// it is at or below an ID of its generator already received from some server: an old replay.
// Servers whose clocks are off by more than d may see answers refused: keep d above the clock
// differences of the fleet.
func WithMaxSkew(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > 24*time.Hour {
			return fmt.Errorf("%w: max skew %v out of range (0, 24h]", ErrInvalidOption, d)
		}
		c.maxSkew = d
		return nil
	}
}

// WithLayout tells the client the layout of every server's IDs (the zero Layout is the default
// preset), instead of learning each server's from its own GET /stats. The client decodes the node
// and time fields of every ID with it to check that the IDs of each generator increase
// (ErrIDOrder) and are not dated too far ahead (FutureError); pinning it means no server can
// mislead those checks by naming another layout, not even for its own answers, and that an old
// replay of one server's IDs by another is always recognised as one.
func WithLayout(l snowfall.Layout) Option {
	return func(c *config) error {
		c.layout, c.layoutSet = l, true
		return nil
	}
}

// WithHedging sets the bounds [lo, hi] of the hedge delay: when the server a call asked has not
// answered within it, the call asks the next server too and takes the first good answer; the
// servers that were too slow go after the others for a back-off interval (see WithBackoff), which
// doubles with each race a server loses in a row, up to 8 times the setting, until a call takes its
// answer again: a paused server is not asked first again every back-off interval. The delay follows the
// 99th percentile latency of the client's last 128 answers of the same kind (single IDs, batches,
// other requests), within [lo, hi], and for batches at least lo with no upper bound (a batch
// takes as long as its server needs to issue it; hedging it sooner only discards IDs); it is hi
// until 16 answers were seen (DefaultHedgeMin and DefaultHedgeMax unless set). IDs in an answer that loses are discarded, never handed out, and
// counted in ClientStats. hi = 0 turns hedging off: a call then asks the next server only when one
// fails or its share of the call's deadline runs out.
func WithHedging(lo, hi time.Duration) Option {
	return func(c *config) error {
		if lo < 0 || hi < 0 || hi > 0 && lo > hi {
			return fmt.Errorf("%w: hedge delay bounds [%v, %v]: want 0 ≤ lo ≤ hi, or hi = 0 for no hedging", ErrInvalidOption, lo, hi)
		}
		c.hedgeMin, c.hedgeMax = lo, hi
		return nil
	}
}

// WithServers adds servers after the base URL given to New; an empty base URL leaves these alone.
// A call goes to the next server, by the policy, when one fails with a connection error, a timeout,
// a 3xx (redirects are not followed), 4xx or 5xx status, or an answer the client refuses; the
// failed server then sits out a back-off (see WithBackoff). A 4xx ends the call only when every
// server refused the request with the same status and message. It also goes to the next server when
// the one asked is slower than the hedge delay (see WithHedging).
func WithServers(urls ...string) Option {
	return func(c *config) error {
		c.servers = append(c.servers, urls...)
		return nil
	}
}

// WithPolicy sets how calls are spread over several servers: Failover (the default) or RoundRobin.
func WithPolicy(p Policy) Option {
	return func(c *config) error {
		if p != Failover && p != RoundRobin {
			return fmt.Errorf("%w: unknown policy %d", ErrInvalidOption, p)
		}
		c.policy = p
		return nil
	}
}

// WithTimeout bounds each request to one server (DefaultTimeout unless set). When the call's
// context has a deadline, each request is also bounded by an equal share of the time left among
// the servers not yet asked, so that one server that hangs cannot use up the call. A server that
// failed just before gets at most 200 ms (or four of the recent 99th percentile latencies of the
// kind of request, if longer). Zero means no bound but those.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: timeout %v is negative", ErrInvalidOption, d)
		}
		c.timeout = d
		return nil
	}
}

// WithBackoff sets how long a server that failed sits out before calls try it again first
// (DefaultBackoff unless set); it doubles with each failure since the server's last good answer,
// up to 8 times the setting. A request that got no answer within its bound or the call's deadline
// is a failure like a refusal. A 503's or 429's Retry-After, up to 5 s (or the back-off, if
// longer), lengthens it for that server only. Servers backing off are asked after the others; while
// every server is backing off, calls ask them all at once.
func WithBackoff(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: back-off %v is negative", ErrInvalidOption, d)
		}
		c.backoff = d
		return nil
	}
}

// WithHTTPClient makes the client send its requests through hc instead of its own tuned transport.
// Close then leaves hc's idle connections alone.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return fmt.Errorf("%w: nil http client", ErrInvalidOption)
		}
		c.httpClient = hc
		return nil
	}
}

// WithLogger makes the client log failed servers and failed prefetch requests to l; by default it
// logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithPrefetch makes NextID hand out IDs from a buffer of up to size IDs that a background goroutine
// fills with batch requests, one at a time: it tops the buffer up when a call leaves lowWater IDs or
// fewer in it. IDs whose batch arrived more than maxAge ago are dropped unused, never handed out,
// which keeps the IDs a process hands out close to time-sorted (their time field lags by at most
// maxAge plus a round trip); zero means they never age. So that a buffer used at a steady rate does
// not empty when a batch ages, IDs that will reach maxAge within about the time a refill takes (four
// of the recent 99th percentile batch latencies, plus the hedge delay with several servers; at most
// maxAge/2) count as gone for lowWater, and while calls take IDs the goroutine also checks when a
// batch gets that close: the fresh batch arrives before the old one ages, and the buffer holds the
// old IDs besides up to size fresh ones until they do. size must be positive, lowWater in
// [0, size), maxAge 0 or at least 10 ms (a batch must be able to arrive before it ages: with 1µs,
// every call failed). Batches hold at most MaxBatch IDs.
func WithPrefetch(size, lowWater int, maxAge time.Duration) Option {
	return func(c *config) error {
		switch {
		case size < 1:
			return fmt.Errorf("%w: prefetch size %d is not positive", ErrInvalidOption, size)
		case lowWater < 0 || lowWater >= size:
			return fmt.Errorf("%w: prefetch low watermark %d out of range [0, %d]", ErrInvalidOption, lowWater, size-1)
		case maxAge < 0 || maxAge > 0 && maxAge < minPrefetchAge:
			return fmt.Errorf("%w: prefetch max age %v out of range: want 0 (IDs never age) or at least %v", ErrInvalidOption, maxAge, minPrefetchAge)
		}
		c.prefetch, c.size, c.low, c.maxAge = true, size, lowWater, maxAge
		return nil
	}
}

// minPrefetchAge is the shortest max age WithPrefetch takes, but for 0.
const minPrefetchAge = 10 * time.Millisecond
