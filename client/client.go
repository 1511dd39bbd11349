package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
	"github.com/snowfall-go/snowfall/internal/redact"
)

// MaxBatch is the most IDs one request to GET /ids asks for; NextIDs splits larger counts.
const MaxBatch = api.MaxBatch

// MaxNextIDs is the most IDs one NextIDs call returns (8 MB of IDs); ask again for more.
const MaxNextIDs = 1_000_000

// Client fetches IDs from one or more Snowfall servers. It is safe for concurrent use. Close it to
// stop its prefetching and drop its idle connections.
type Client struct {
	servers []*endpoint
	policy  Policy
	turn    atomic.Uint64 // round-robin position
	timeout time.Duration
	backoff time.Duration
	hc      *http.Client
	ownHC   bool
	log     *slog.Logger
	now     func() time.Time
	pre     *prefetcher // nil without WithPrefetch
	check   *checker
	// hedgeMin and hedgeMax bound the delay after which a call also asks the next server; a zero
	// hedgeMax turns hedging off. one and batch are the latencies of GET / and of GET /ids.
	hedgeMin, hedgeMax time.Duration
	one, batch, other  latency
	counters           counters

	closed    atomic.Bool
	closeOnce sync.Once
	// The client's own goroutines (layout learning) stop when bgCtx ends, and bg waits for them.
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup
}

// New returns a client for the server at baseURL (such as "http://localhost:8910"; a bare
// "host:port" means http), configured by opts. It is safe for concurrent use. Errors: ErrInvalidURL
// for an address that is not an http or https URL with a host, ErrInvalidOption for an option out of
// range. With WithPrefetch it starts a goroutine that Close stops.
func New(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{timeout: DefaultTimeout, backoff: DefaultBackoff, now: time.Now,
		hedgeMin: DefaultHedgeMin, hedgeMax: DefaultHedgeMax, maxSkew: DefaultMaxSkew}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	urls := cfg.servers
	if baseURL != "" {
		urls = append([]string{baseURL}, urls...)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("%w: no server given", ErrInvalidURL)
	}
	c := &Client{
		policy:   cfg.policy,
		timeout:  cfg.timeout,
		backoff:  cfg.backoff,
		log:      cfg.logger,
		now:      cfg.now,
		hedgeMin: cfg.hedgeMin,
		hedgeMax: cfg.hedgeMax,
		check:    newChecker(cfg.layout, cfg.layoutSet, cfg.maxSkew, cfg.now),
	}
	c.bgCtx, c.bgCancel = context.WithCancel(context.Background())
	for i, u := range urls {
		base, err := normalize(u)
		if err != nil {
			c.bgCancel()
			return nil, fmt.Errorf("%w: server %d of %d (value hidden): %w", ErrInvalidURL, i+1, len(urls), err)
		}
		c.servers = append(c.servers, &endpoint{base: base})
	}
	// Redirects are never followed: an ID server has no reason to send one, and following it would
	// take IDs from a host the caller did not configure. A 3xx answer is that server's failure.
	if cfg.httpClient != nil {
		hc := *cfg.httpClient // a copy: the caller's client keeps its own redirect policy
		hc.CheckRedirect = noRedirect
		c.hc = &hc
	} else {
		c.hc, c.ownHC = &http.Client{Transport: newTransport(), CheckRedirect: noRedirect}, true
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if cfg.prefetch {
		c.pre = newPrefetcher(c, cfg.size, cfg.low, cfg.maxAge)
	}
	return c, nil
}

// noRedirect makes an http.Client return a redirect as the answer instead of following it.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// normalize checks a server address and returns it without a trailing slash. Its errors are fixed
// words (redact.ParseURL's, or its own): they never quote the address, which may hold a password.
func normalize(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, q, err := redact.ParseURL(raw)
	switch {
	case err != nil:
		return "", err
	case u.Scheme != "http" && u.Scheme != "https":
		return "", errors.New("its scheme is not http or https")
	case u.User != nil:
		return "", errors.New("it holds a user or password, which the client does not send")
	case u.Host == "" || u.Hostname() == "":
		return "", errors.New("it has no host")
	case u.RawQuery != "" || len(q) > 0 || u.Fragment != "" || u.ForceQuery:
		return "", errors.New("it holds a query or fragment: want scheme://host[:port][/path]")
	}
	if _, err := strconv.ParseUint(cmpOr(u.Port(), "0"), 10, 16); err != nil {
		return "", errors.New("its port is not a number in [0, 65535]")
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// cmpOr returns s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// newTransport returns a transport tuned for many small requests to a few hosts: it keeps enough
// idle connections per host for a busy process to reuse them instead of dialling.
func newTransport() *http.Transport {
	d := &net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            d.DialContext,
		MaxIdleConns:           512,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    5 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		DisableCompression:     true, // bodies are small, or digits the server sends faster than it could gzip them
		ForceAttemptHTTP2:      true,
	}
}

// Close stops the prefetch goroutine, waiting for it, and closes idle connections of the client's own
// transport. Calls after Close return ErrClosed. Close is idempotent and always returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.check.mu.Lock() // learnLayout starts a goroutine only while not closed, under mu
		c.closed.Store(true)
		c.check.mu.Unlock()
		c.bgCancel()
		c.bg.Wait()
		if c.pre != nil {
			c.pre.stop()
		}
		if c.ownHC {
			c.hc.CloseIdleConnections()
		}
	})
	return nil
}

// Servers returns the base URLs of the client's servers, in the order given.
func (c *Client) Servers() []string {
	s := make([]string, len(c.servers))
	for i, sv := range c.servers {
		s[i] = sv.base
	}
	return s
}

// NextID returns a new ID: from the prefetch buffer when the client prefetches, else from GET /.
// The ID is above every ID of its generator that the client received from the same server
// before the call, and is none of the IDs it handed out lately from any server (see ErrIDOrder).
func (c *Client) NextID(ctx context.Context) (snowfall.ID, error) {
	if c.closed.Load() {
		return 0, ErrClosed
	}
	if c.pre != nil {
		return c.pre.next(ctx)
	}
	return c.fetchOne(ctx)
}

// fetchOne asks a server for one ID.
func (c *Client) fetchOne(ctx context.Context) (snowfall.ID, error) {
	lw := c.learnLayout(ctx)
	var id snowfall.ID
	err := c.do(ctx, request{op: "next id", path: "/", limit: 64, lat: &c.one, ids: true}, func(s *endpoint, b []byte, seq uint64) error {
		lw.wait(ctx, s)
		v, ok := parseDecimal(bytes.TrimSpace(b))
		if !ok {
			return fmt.Errorf("%w: GET / returned %q, not a decimal ID", ErrBadResponse, clip(string(b)))
		}
		one := [1]snowfall.ID{snowfall.ID(v)}
		if err := c.accept(s, one[:], seq); err != nil {
			return err
		}
		id = one[0]
		return nil
	})
	return id, err
}

// NextIDs returns n new IDs, 1 ≤ n ≤ MaxNextIDs, from GET /ids in batches of at most MaxBatch; any
// other n is an error wrapping ErrInvalidOption, returned before any request. IDs of one batch
// increase; the batches come from whichever server answers, and every ID is above every ID of its
// generator that the client received from the same server before its batch was asked for. When a batch fails, the call
// returns no IDs; those of the batches before it count as discarded (ClientStats). It never takes
// from the prefetch buffer.
func (c *Client) NextIDs(ctx context.Context, n int) ([]snowfall.ID, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if n < 1 || n > MaxNextIDs {
		return nil, fmt.Errorf("%w: next ids: n %d out of range [1, %d]", ErrInvalidOption, n, MaxNextIDs)
	}
	ids := make([]snowfall.ID, 0, n)
	for len(ids) < n {
		var err error
		if ids, err = c.fetchBatch(ctx, ids, min(n-len(ids), MaxBatch)); err != nil {
			c.counters.discarded.Add(uint64(len(ids))) // the batches received before the failure
			return nil, err
		}
	}
	return ids, nil
}

// fetchBatch appends k IDs (1 ≤ k ≤ MaxBatch) from one GET /ids request to dst.
func (c *Client) fetchBatch(ctx context.Context, dst []snowfall.ID, k int) ([]snowfall.ID, error) {
	lw := c.learnLayout(ctx)
	start := len(dst)
	err := c.do(ctx, request{op: "next ids", path: "/ids?n=" + strconv.Itoa(k), accept: "text/plain", limit: int64(k)*21 + 64, lat: &c.batch, ids: true},
		func(s *endpoint, b []byte, seq uint64) error {
			lw.wait(ctx, s)
			var err error
			dst, err = ParseIDLines(dst[:start], b)
			if err != nil {
				return err
			}
			got := dst[start:]
			if len(got) != k {
				return fmt.Errorf("%w: GET /ids?n=%d returned %d IDs", ErrBadResponse, k, len(got))
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					return fmt.Errorf("%w: GET /ids?n=%d returned ID %d after %d: a batch must be strictly increasing (a broken or hostile server)",
						ErrBadResponse, k, got[i], got[i-1])
				}
			}
			return c.accept(s, got, seq)
		})
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// Stats returns the stats of the first server that answers GET /stats, every key typed.
func (c *Client) Stats(ctx context.Context) (api.Stats, error) {
	if c.closed.Load() {
		return api.Stats{}, ErrClosed
	}
	var st api.Stats
	err := c.do(ctx, request{op: "stats", path: "/stats", accept: "application/json", limit: 1 << 20, lat: &c.other}, func(_ *endpoint, b []byte, _ uint64) error {
		st = api.Stats{}
		if err := json.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("%w: GET /stats: %w", ErrBadResponse, err)
		}
		return nil
	})
	return st, err
}

// Decode asks a server to split id into its fields under the server's layout.
func (c *Client) Decode(ctx context.Context, id snowfall.ID) (snowfall.Decoded, error) {
	if c.closed.Load() {
		return snowfall.Decoded{}, ErrClosed
	}
	if id < 0 {
		return snowfall.Decoded{}, fmt.Errorf("%w: decode: id %d out of range [0, %d]", ErrInvalidOption, id, int64(1<<63-1))
	}
	var d snowfall.Decoded
	err := c.do(ctx, request{op: "decode", path: "/decode/" + id.String(), accept: "application/json", limit: 1 << 16, lat: &c.other}, func(_ *endpoint, b []byte, _ uint64) error {
		d = snowfall.Decoded{}
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("%w: GET /decode: %w", ErrBadResponse, err)
		}
		return nil
	})
	return d, err
}
