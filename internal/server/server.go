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
	// MaxHeaderBytes bounds the request line and headers; ID requests need a few hundred bytes.
	MaxHeaderBytes = 16 << 10
)

// Config configures a Server. The zero value of every field but Source means its default.
type Config struct {
	// Source issues the IDs; required. When it also has a method Lease() snowfall.LeaseStatus, the
	// lease shows in /stats, /metrics and /readyz; when it has Ready() error, /readyz asks it.
	Source snowfall.Source
	// Logger receives start, stop and error records; nil discards them.
	Logger *slog.Logger
	// Timeout bounds how long an ID request waits for the source (for a tick, or a clock that went
	// back) before it gets 503. Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxIDs is the most IDs one /ids request may ask for. Zero means DefaultMaxIDs.
	MaxIDs int
	// ShutdownTimeout bounds how long Serve waits for in-flight requests once its context is done.
	// Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// MaxBatchWork is how many /ids requests may fill IDs at once; others wait for a slot within
	// Timeout, then get 503. Zero means GOMAXPROCS (at least 2).
	MaxBatchWork int
	// MaxConns is how many connections Serve keeps open at once; further clients wait in the
	// listen queue until one closes. Zero means DefaultMaxConns.
	MaxConns int
	// Now reads the time for uptime and lifetime figures; nil means time.Now.
	Now func() time.Time
	// UniqueAmong says which servers the source's IDs are unique among, for /stats
	// (unique_among): "servers sharing <store>" for a leased generator id; "" shows nothing.
	UniqueAmong string
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
	layout  snowfall.Layout
	unique  string // Config.UniqueAmong

	batch    chan struct{} // a slot for each /ids request filling IDs at once
	maxConns int
	refused  atomic.Uint64 // ID requests answered with 503
	readyLog readyLog

	reg     *prometheus.Registry
	metrics *httpMetrics
	mux     *http.ServeMux
	idRoute http.Handler // GET /
	handler http.Handler
}

// New returns a server for c.Source. It returns an error when Source is nil or a setting is negative.
func New(c Config) (*Server, error) {
	if c.Source == nil {
		return nil, errors.New("server: no Source")
	}
	if c.Timeout < 0 || c.MaxIDs < 0 || c.ShutdownTimeout < 0 || c.MaxBatchWork < 0 || c.MaxConns < 0 {
		return nil, fmt.Errorf("server: negative setting (Timeout %v, MaxIDs %d, ShutdownTimeout %v, MaxBatchWork %d, MaxConns %d)",
			c.Timeout, c.MaxIDs, c.ShutdownTimeout, c.MaxBatchWork, c.MaxConns)
	}
	s := &Server{
		src:     c.Source,
		unique:  c.UniqueAmong,
		log:     c.Logger,
		timeout: c.Timeout,
		maxIDs:  c.MaxIDs,
		grace:   c.ShutdownTimeout,
		now:     c.Now,
		layout:  c.Source.Layout(),
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
	if s.now == nil {
		s.now = time.Now
	}
	s.started = s.now()
	s.reg = prometheus.NewRegistry()
	s.metrics = newHTTPMetrics()
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
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Long enough for the largest /ids answer to a slow reader, short enough to drop a stuck one.
		WriteTimeout:   s.timeout + 30*time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// Serve answers requests on ln, at most MaxConns connections at once, until ctx is done, then stops accepting connections, waits up to the
// shutdown timeout for in-flight requests, and returns nil. It returns an error when serving fails
// or in-flight requests outlast the timeout (they are then cut off). Serve closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := s.HTTPServer()
	ln = limitListener(ln, s.maxConns)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String(), "layout", s.layout.Name(), "spec", s.layout.Spec(),
		"epoch", s.layout.Epoch().Format(time.RFC3339Nano))
	s.noteReady(s.notReady()) // a mark far ahead of the clock, a layout that ran out: say so at once
	select {
	case err := <-errc:
		return fmt.Errorf("server: serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", s.grace)
	sctx, cancel := context.WithTimeout(context.Background(), s.grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-errc // http.ErrServerClosed once Shutdown has begun
	if err != nil {
		hs.Close()
		return fmt.Errorf("server: shutdown: %w", err)
	}
	s.log.Info("stopped")
	return nil
}
