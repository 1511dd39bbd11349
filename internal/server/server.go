// Package server serves IDs from a snowfall.Source over HTTP, compatible with the Python pysnowflake
// server:
//
//	GET /              one ID as a bare decimal number (Content-Type: application/json)
//	GET /ids?n=N       N IDs (1..MaxIDs), one per line as text/plain, or an api.Batch
//	                   {"ids":["…",…]} when the request accepts application/json
//	GET /stats         an api.Stats: pysnowflake's keys (dc, worker, timestamp, last_timestamp,
//	                   sequence, sequence_overload, errors) and snowfall's (generator, layout, spec,
//	                   epoch_ms, ids_generated, uptime_s, clock_backwards, fenced, lease)
//	GET /decode/{id}   the decoded fields, as snowfall.Decoded
//	GET /metrics       Prometheus text from a private registry
//	GET /livez         200 "ok" while the process serves HTTP (never depends on the database)
//	GET /readyz        200 "ok" while the source would issue an ID now (lease held and not fenced,
//	                   clock not behind the last issued time, layout not run out), checked without
//	                   issuing; else 503 with Retry-After and the reason. /healthz is the same.
//
// Bad input gets 400 and an api.Error {"error":"…"}; unknown paths 404 and other methods 405 with an Allow
// header, both with a JSON error too. An ID request that cannot be served in time (the generator is
// fenced, its clock is far behind, its layout ran out) gets 503 with Retry-After: never a duplicate,
// never a hang.
//
// ServeAdmin also answers /livez, /readyz, /healthz, /metrics and /stats on a second listener with
// a connection cap of its own, so that probes and scrapes answer however busy the API is. Both
// listeners reclaim connections that do no work (idle, silent, stalled on their clients, or whose
// request waits for a batch slot or the source: it gets 503) when their cap is full, and close a connection whose request brought a body without reading it (see
// limiter), so that no mix of other connections keeps the probes from answering. On shutdown the server
// drains: /readyz answers 503 while it keeps serving for Config.DrainDelay, then it stops accepting
// and finishes what is in flight.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
)

// Defaults of Config.
const (
	DefaultTimeout         = 2 * time.Second
	DefaultMaxIDs          = api.MaxBatch
	DefaultShutdownTimeout = 10 * time.Second
	DefaultMaxConns        = 1024
	DefaultAdminMaxConns   = 16
	// MaxHeaderBytes bounds the request line and headers; ID requests need a few hundred bytes.
	MaxHeaderBytes = 16 << 10
)

// Config configures a Server. The zero value of every field but Source means its default.
type Config struct {
	// Source issues the IDs; required. When it also has a method Lease() snowfall.LeaseStatus, the
	// lease shows in /stats, /metrics and /readyz; when it has Ready() error, /readyz asks it. A
	// source whose Layout is the zero Layout does not know its layout yet (a lease store not
	// reached): /decode answers 503 until it does.
	Source snowfall.Source
	// Logger receives start, stop and error records; nil discards them.
	Logger *slog.Logger
	// Timeout bounds how long an ID request waits for the source (for a tick, or a clock that went
	// back) before it gets 503. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxIDs is the most IDs one /ids request may ask for. Zero means DefaultMaxIDs.
	MaxIDs int
	// ShutdownTimeout bounds how long Serve waits for in-flight requests once it stops accepting
	// connections. Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// DrainDelay is how long Serve keeps serving once its context is done, with /readyz answering
	// 503 and keep-alive off, so that load balancers stop sending clients here before the
	// listener closes. SkipDrain cuts it short. Zero means none.
	DrainDelay time.Duration
	// MaxBatchWork is how many /ids requests may fill IDs at once; others wait for a slot within
	// Timeout, then get 503. Zero means GOMAXPROCS (at least 2).
	MaxBatchWork int
	// MaxConns is how many connections Serve keeps open at once. A client arriving when that many
	// are open takes the place of one that does no work: the one idle longest between requests,
	// else the one stalled longest on its client (headers not sent, or an answer not taken, for
	// 250 ms), else the one whose request waited longest for a batch slot or the source (it is
	// answered 503 with Retry-After and closed), else the oldest new one that has not sent its
	// request; only when
	// every one is at work on a request does it wait (see limiter). Zero means DefaultMaxConns.
	MaxConns int
	// AdminMaxConns is the same cap for the admin listener of ServeAdmin. Zero means
	// DefaultAdminMaxConns.
	AdminMaxConns int
	// Now reads the time for uptime and lifetime figures; nil means time.Now.
	Now func() time.Time
	// UniqueAmong says which servers the source's IDs are unique among, for /stats
	// (unique_among): "servers sharing <store>" for a leased generator id; nil or "" shows
	// nothing. It is called for each /stats answer: a source that opens its store in the
	// background knows the store only then.
	UniqueAmong func() string
}

// Server answers the HTTP API for one Source. It is safe for concurrent use.
type Server struct {
	src     snowfall.Source
	lease   leaser // nil unless src holds a lease
	log     *slog.Logger
	timeout time.Duration
	maxIDs  int
	grace   time.Duration
	now     func() time.Time
	started time.Time
	unique  func() string // Config.UniqueAmong

	batch         chan struct{} // a slot for each /ids request filling IDs at once
	maxConns      int
	adminMaxConns int
	drainDelay    time.Duration
	refused       atomic.Uint64 // ID requests answered with 503
	readyLog      readyLog
	draining      atomic.Bool   // set when Serve's context is done
	hurry         chan struct{} // closed by SkipDrain
	hurryOnce     sync.Once
	limiters      sync.Map // listener name ("api", "admin") → *limiter, for /metrics

	reg     *prometheus.Registry
	metrics *httpMetrics
	mux     *http.ServeMux
	idRoute http.Handler // GET /
	special http.Handler // CONNECT, and requests for *
	handler http.Handler
	admin   http.Handler // the admin listener's
}

// New returns a server for c.Source. It returns an error when Source is nil or a setting is negative.
func New(c Config) (*Server, error) {
	if c.Source == nil {
		return nil, errors.New("server: no Source")
	}
	if c.Timeout < 0 || c.MaxIDs < 0 || c.ShutdownTimeout < 0 || c.DrainDelay < 0 || c.MaxBatchWork < 0 || c.MaxConns < 0 || c.AdminMaxConns < 0 {
		return nil, fmt.Errorf("server: negative setting (Timeout %v, MaxIDs %d, ShutdownTimeout %v, DrainDelay %v, MaxBatchWork %d, MaxConns %d, AdminMaxConns %d)",
			c.Timeout, c.MaxIDs, c.ShutdownTimeout, c.DrainDelay, c.MaxBatchWork, c.MaxConns, c.AdminMaxConns)
	}
	s := &Server{
		src:     c.Source,
		unique:  c.UniqueAmong,
		log:     c.Logger,
		timeout: c.Timeout,
		maxIDs:  c.MaxIDs,
		grace:   c.ShutdownTimeout,
		now:     c.Now,

		drainDelay: c.DrainDelay,
		hurry:      make(chan struct{}),
	}
	s.lease, _ = c.Source.(leaser)
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.maxIDs == 0 {
		s.maxIDs = DefaultMaxIDs
	}
	if s.grace == 0 {
		s.grace = DefaultShutdownTimeout
	}
	work := c.MaxBatchWork
	if work == 0 {
		work = max(2, runtime.GOMAXPROCS(0))
	}
	s.batch = make(chan struct{}, work)
	s.maxConns = c.MaxConns
	if s.maxConns == 0 {
		s.maxConns = DefaultMaxConns
	}
	s.adminMaxConns = c.AdminMaxConns
	if s.adminMaxConns == 0 {
		s.adminMaxConns = DefaultAdminMaxConns
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now()
	s.reg = prometheus.NewRegistry()
	s.metrics = newHTTPMetrics()
	s.metrics.log = s.log
	if err := s.register(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler returns the handler serving the API.
func (s *Server) Handler() http.Handler { return s.handler }

// Registry returns the server's private Prometheus registry, which /metrics serves.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// HTTPServer returns an http.Server for the API with the timeouts and header limit Serve uses.
func (s *Server) HTTPServer() *http.Server { return s.httpServer(s.handler) }

func (s *Server) httpServer(h http.Handler) *http.Server {
	// The timeouts are backstops for connections below the cap; at the cap the limiter reclaims
	// those that do no work at once (see limiter). No body is ever read (see refuseBody), so
	// ReadTimeout bounds only a request's headers, with ReadHeaderTimeout.
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Long enough for the largest /ids answer to a slow reader, short enough to drop a stuck one.
		WriteTimeout:   s.timeout + 30*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// OPTIONS * comes to the handler, which answers it with the headers of every answer.
		DisableGeneralOptionsHandler: true,
	}
}

// Serve is ServeAdmin without an admin listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error { return s.ServeAdmin(ctx, ln, nil) }

// ServeAdmin answers the API on ln, at most MaxConns connections at once, and, when admin is not
// nil, the operators' endpoints (/livez, /readyz, /healthz, /metrics, /stats) on admin, at most
// AdminMaxConns at once. When ctx is done it drains: /readyz answers 503 and answers close their
// connections while it keeps serving for DrainDelay (or until SkipDrain); then it stops accepting
// on both listeners, waits up to ShutdownTimeout for requests in flight, and returns nil. It
// returns an error when serving fails or requests in flight outlast the timeout (they are then cut
// off). ServeAdmin closes both listeners; call it once.
func (s *Server) ServeAdmin(ctx context.Context, ln, admin net.Listener) error {
	type served struct {
		hs   *http.Server
		done chan error // what hs.Serve returned
	}
	failed := make(chan error, 2) // the same, from either listener
	start := func(name string, ln net.Listener, max int, h http.Handler) served {
		lim := newLimiter(ln, max)
		s.limiters.Store(name, lim)
		hs := s.httpServer(h)
		hs.ConnState = lim.connState
		hs.ConnContext = lim.connContext
		sv := served{hs, make(chan error, 1)}
		go func() {
			err := hs.Serve(lim)
			failed <- err
			sv.done <- err
		}()
		return sv
	}
	servers := []served{start("api", ln, s.maxConns, s.handler)}
	if admin != nil {
		servers = append(servers, start("admin", admin, s.adminMaxConns, s.admin))
		s.log.Info("serving the admin endpoints", "addr", admin.Addr().String())
	}
	if l := s.src.Layout(); l.IsZero() {
		s.log.Info("serving", "addr", ln.Addr().String(), "layout", "the lease store's, once it answers")
	} else {
		s.log.Info("serving", "addr", ln.Addr().String(), "layout", l.Name(), "spec", l.Spec(),
			"epoch", l.Epoch().Format(time.RFC3339Nano))
	}
	s.checkReady() // a mark far ahead of the clock, a layout that ran out: say so at once
	var serveErr error
	select {
	case serveErr = <-failed:
	case <-ctx.Done():
	}
	if serveErr == nil {
		serveErr = s.drain(servers[0].hs, failed)
	}
	s.log.Info("shutting down: no new connections; waiting for requests in flight", "grace", s.grace)
	sctx, cancel := context.WithTimeout(context.Background(), s.grace)
	defer cancel()
	var err error
	for _, sv := range servers { // the API first: the admin endpoints answer until it is done
		if e := sv.hs.Shutdown(sctx); e != nil && err == nil {
			err = e
		}
	}
	for _, sv := range servers {
		if err != nil {
			sv.hs.Close()
		}
		<-sv.done // http.ErrServerClosed once Shutdown has begun
	}
	switch {
	case serveErr != nil:
		return fmt.Errorf("server: serve: %w", serveErr)
	case err != nil:
		return fmt.Errorf("server: shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// drain makes the server unready, closes connections after their answers, and keeps serving for
// the drain delay, or until SkipDrain or a listener fails (it returns that error).
func (s *Server) drain(api *http.Server, failed <-chan error) error {
	s.draining.Store(true)
	api.SetKeepAlivesEnabled(false) // also closes the idle connections: clients reconnect, elsewhere once routed
	if s.drainDelay <= 0 {
		return nil
	}
	s.log.Info("draining: /readyz answers 503; serving on until the delay ends (a second signal ends it now)", "delay", s.drainDelay)
	t := time.NewTimer(s.drainDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.hurry:
		s.log.Info("drain delay cut short")
	case err := <-failed:
		return err
	}
	return nil
}

// SkipDrain ends the drain delay now, or makes it zero if it has not begun (a second signal). It
// is safe to call at any time, more than once.
func (s *Server) SkipDrain() { s.hurryOnce.Do(func() { close(s.hurry) }) }
