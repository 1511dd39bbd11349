package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
)

// MaxBatch is the most IDs one request to GET /ids asks for; NextIDs splits larger counts.
const MaxBatch = api.MaxBatch

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

	closed    atomic.Bool
	closeOnce sync.Once
}

// endpoint is one server's base URL and its back-off state.
type endpoint struct {
	base string       // scheme://host[:port][/prefix], without a trailing slash
	down atomic.Int64 // Unix nanoseconds until which the server backs off; 0 when healthy
}

// New returns a client for the server at baseURL (such as "http://localhost:8910"; a bare
// "host:port" means http), configured by opts. It is safe for concurrent use. Errors: ErrInvalidURL
// for an address that is not an http or https URL with a host, ErrInvalidOption for an option out of
// range. With WithPrefetch it starts a goroutine that Close stops.
func New(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{timeout: DefaultTimeout, backoff: DefaultBackoff, now: time.Now}
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
		policy:  cfg.policy,
		timeout: cfg.timeout,
		backoff: cfg.backoff,
		hc:      cfg.httpClient,
		log:     cfg.logger,
		now:     cfg.now,
	}
	for _, u := range urls {
		base, err := normalize(u)
		if err != nil {
			return nil, err
		}
		c.servers = append(c.servers, &endpoint{base: base})
	}
	if c.hc == nil {
		c.hc, c.ownHC = &http.Client{Transport: newTransport()}, true
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if cfg.prefetch {
		c.pre = newPrefetcher(c, cfg.size, cfg.low, cfg.maxAge)
	}
	return c, nil
}

// normalize checks a server address and returns it without a trailing slash.
func normalize(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %w", ErrInvalidURL, clip(s), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%w: %q: scheme %q is not http or https", ErrInvalidURL, clip(s), u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%w: %q has no host", ErrInvalidURL, clip(s))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w: %q: want scheme://host[:port][/path] without user, query or fragment", ErrInvalidURL, clip(s))
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
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
		c.closed.Store(true)
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
	var id snowfall.ID
	err := c.get(ctx, "next id", "/", "", 64, func(b []byte) error {
		v, ok := parseDecimal(bytes.TrimSpace(b))
		if !ok {
			return fmt.Errorf("%w: GET / returned %q, not a decimal ID", ErrBadResponse, clip(string(b)))
		}
		id = snowfall.ID(v)
		return nil
	})
	return id, err
}

// NextIDs returns n new IDs (n ≥ 1) from GET /ids, in batches of at most MaxBatch. IDs of one batch
// increase; the batches come from whichever server answers. It never takes from the prefetch buffer.
func (c *Client) NextIDs(ctx context.Context, n int) ([]snowfall.ID, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if n < 1 {
		return nil, fmt.Errorf("%w: next ids: n %d is not positive", ErrInvalidOption, n)
	}
	ids := make([]snowfall.ID, 0, n)
	for len(ids) < n {
		var err error
		if ids, err = c.fetchBatch(ctx, ids, min(n-len(ids), MaxBatch)); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// fetchBatch appends k IDs (1 ≤ k ≤ MaxBatch) from one GET /ids request to dst.
func (c *Client) fetchBatch(ctx context.Context, dst []snowfall.ID, k int) ([]snowfall.ID, error) {
	start := len(dst)
	err := c.get(ctx, "next ids", "/ids?n="+strconv.Itoa(k), "text/plain", int64(k)*21+64, func(b []byte) error {
		var err error
		dst, err = ParseIDLines(dst[:start], b)
		if err != nil {
			return err
		}
		if got := len(dst) - start; got != k {
			return fmt.Errorf("%w: GET /ids?n=%d returned %d IDs", ErrBadResponse, k, got)
		}
		for i := start + 1; i < len(dst); i++ {
			if dst[i] <= dst[i-1] {
				return fmt.Errorf("%w: GET /ids?n=%d returned ID %d after %d: a batch must be strictly increasing (a broken or hostile server)",
					ErrBadResponse, k, dst[i], dst[i-1])
			}
		}
		return nil
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
	err := c.get(ctx, "stats", "/stats", "application/json", 1<<20, func(b []byte) error {
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
	var d snowfall.Decoded
	err := c.get(ctx, "decode", "/decode/"+id.String(), "application/json", 1<<16, func(b []byte) error {
		d = snowfall.Decoded{}
		if err := json.Unmarshal(b, &d); err != nil {
			return fmt.Errorf("%w: GET /decode: %w", ErrBadResponse, err)
		}
		return nil
	})
	return d, err
}

// get sends GET path to the servers by the policy until one answers 200, and hands its body (at most
// limit bytes) to read, which must not keep it. A server that fails with a connection error, a
// timeout, a 5xx or 429 status, or a body read rejects, backs off and the next one is tried; a
// 4xx status ends the call. With one server its error comes back as it is (wrapped with op); with
// several, an AllFailedError.
func (c *Client) get(ctx context.Context, op, path, accept string, limit int64, read func([]byte) error) error {
	n := len(c.servers)
	first := 0
	if c.policy == RoundRobin && n > 1 {
		first = int((c.turn.Add(1) - 1) % uint64(n))
	}
	// Servers backing off at the start of the call are tried last, after all the others failed.
	now := c.now().UnixNano()
	var restBuf [8]bool
	resting := restBuf[:0]
	if n > len(restBuf) {
		resting = make([]bool, 0, n)
	}
	anyResting := false
	for i := 0; i < n; i++ {
		r := n > 1 && c.servers[(first+i)%n].down.Load() > now
		resting = append(resting, r)
		anyResting = anyResting || r
	}
	var failures []Failure
	for pass := 0; pass < 2; pass++ {
		if pass == 1 && !anyResting {
			break
		}
		for i := 0; i < n; i++ {
			if resting[i] != (pass == 1) {
				continue
			}
			s := c.servers[(first+i)%n]
			err := c.attempt(ctx, s, path, accept, limit, read)
			if err == nil {
				if s.down.Load() != 0 {
					s.down.Store(0)
				}
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("client: %s: %w", op, err)
			}
			var se *ServerError
			if errors.As(err, &se) && !se.retryable() {
				return fmt.Errorf("client: %s: %w", op, err)
			}
			c.rest(s, err)
			failures = append(failures, Failure{Server: s.base, Err: err})
		}
	}
	if n == 1 {
		return fmt.Errorf("client: %s: %w", op, failures[0].Err)
	}
	return &AllFailedError{Op: op, Failures: failures}
}

// rest makes s back off after err.
func (c *Client) rest(s *endpoint, err error) {
	d := c.backoff
	var se *ServerError
	if errors.As(err, &se) && se.RetryAfter > d {
		d = min(se.RetryAfter, maxRetryAfter)
	}
	s.down.Store(c.now().Add(d).UnixNano())
	c.log.Warn("snowfall server failed", "server", s.base, "backoff", d, "err", err)
}

// bufPool holds response buffers.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// attempt sends one request to s.
func (c *Client) attempt(ctx context.Context, s *endpoint, path, accept string, limit int64, read func([]byte) error) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return err
	}
	if accept != "" {
		req.Header["Accept"] = []string{accept}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if resp.StatusCode != http.StatusOK {
		limit = 64 << 10
	}
	if resp.ContentLength > 0 && resp.ContentLength <= limit {
		buf.Grow(int(resp.ContentLength) + 1)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1)); err != nil {
		return fmt.Errorf("reading the answer to GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return serverError(s.base, resp, buf.Bytes())
	}
	if int64(buf.Len()) > limit {
		return fmt.Errorf("%w: the answer to GET %s is longer than %d bytes", ErrBadResponse, path, limit)
	}
	return read(buf.Bytes())
}

// serverError builds the ServerError for an error status.
func serverError(base string, resp *http.Response, body []byte) *ServerError {
	e := &ServerError{Server: base, Status: resp.StatusCode}
	var eb api.Error
	if json.Unmarshal(body, &eb) == nil && eb.Message != "" {
		e.Message = eb.Message
	} else if t := strings.TrimSpace(string(body)); t != "" {
		e.Message = clip(t)
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && secs > 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = max(time.Until(t), 0)
		}
	}
	return e
}
