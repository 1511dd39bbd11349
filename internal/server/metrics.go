package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics count requests by route and status code and time them by route.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	log      *slog.Logger // where routes report panics
}

func newHTTPMetrics() *httpMetrics {
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "snowfall_http_requests_total",
			Help: "HTTP requests answered, by route and status code.",
		}, []string{"handler", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "snowfall_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"handler"}),
	}
}

// commonCodes are the codes whose counters each route resolves up front.
var commonCodes = []int{200, 400, 404, 405, 500, 503}

// route wraps h so that it counts and times its requests. The counters of the common codes are
// looked up once here, not on every request.
func (m *httpMetrics) route(name string, h handlerFunc) http.Handler {
	rt := &route{name: name, h: h, m: m, dur: m.duration.WithLabelValues(name)}
	for i, c := range commonCodes {
		rt.counts[i] = m.requests.WithLabelValues(name, strconv.Itoa(c))
	}
	return rt
}

type route struct {
	name   string
	h      handlerFunc
	m      *httpMetrics
	dur    prometheus.Observer
	counts [6]prometheus.Counter // by commonCodes
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	tw := trackPool.Get().(*tracked)
	tw.ResponseWriter, tw.wrote = w, false
	defer func() {
		tw.ResponseWriter = nil
		trackPool.Put(tw)
	}()
	code := rt.serve(tw, r)
	rt.dur.Observe(time.Since(start).Seconds())
	rt.count(code)
}

// serve runs the handler. A panic other than http.ErrAbortHandler is a bug: it is logged through
// the server's logger at ERROR with the request's method and path (not its query or headers,
// where secrets travel) and answered 500 with an api.Error, or, when the answer has begun, cut
// off (a truncated answer, never one that looks whole).
func (rt *route) serve(tw *tracked, r *http.Request) (code int) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		rt.m.log.Error("panic serving a request: a bug; answered 500 or cut off", "method", r.Method, "path", clip(r.URL.Path),
			"handler", rt.name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		if tw.wrote {
			rt.count(http.StatusInternalServerError)
			panic(http.ErrAbortHandler) // net/http closes the connection without a word
		}
		tw.Header()["Connection"] = closeConn
		code = writeError(tw, http.StatusInternalServerError, "internal error: the server log has the details")
	}()
	return rt.h(tw, r)
}

// count counts an answer with code.
func (rt *route) count(code int) {
	for i, c := range commonCodes {
		if c == code {
			rt.counts[i].Inc()
			return
		}
	}
	rt.m.requests.WithLabelValues(rt.name, strconv.Itoa(code)).Inc()
}

// tracked is a ResponseWriter that notes whether the answer has begun.
type tracked struct {
	http.ResponseWriter
	wrote bool
}

var trackPool = sync.Pool{New: func() any { return new(tracked) }}

func (t *tracked) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *tracked) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Flush passes on to the ResponseWriter, for promhttp.
func (t *tracked) Flush() {
	t.wrote = true
	http.NewResponseController(t.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's ResponseWriter.
func (t *tracked) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// register fills the private registry.
func (s *Server) register() error {
	for _, c := range []prometheus.Collector{
		s.metrics.requests,
		s.metrics.duration,
		&sourceCollector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := s.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) serveMetrics() handlerFunc {
	h := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}})
	return func(w http.ResponseWriter, r *http.Request) int {
		h.ServeHTTP(w, r)
		return http.StatusOK
	}
}

type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Warn("metrics", "err", v) }

var (
	descIssued = prometheus.NewDesc("snowfall_ids_issued_total",
		"IDs issued by the generator.", nil, nil)
	descOverloads = prometheus.NewDesc("snowfall_sequence_overloads_total",
		"Ticks whose sequence ran out while callers wanted more IDs.", nil, nil)
	descBackwards = prometheus.NewDesc("snowfall_clock_backwards_total",
		"Times the clock was found behind the last tick issued.", nil, nil)
	descRefused = prometheus.NewDesc("snowfall_id_requests_refused_total",
		"ID requests answered with 503 (fenced, clock behind, timeout, layout ran out).", nil, nil)
	descFenced = prometheus.NewDesc("snowfall_fenced",
		"1 while the generator refuses to issue, else 0.", nil, nil)
	descRemaining = prometheus.NewDesc("snowfall_layout_remaining_seconds",
		"Seconds until the layout's time field runs out.", nil, nil)
	descConnsOpen = prometheus.NewDesc("snowfall_http_connections_open",
		"Connections open, by listener (api, admin).", []string{"listener"}, nil)
	descConnsReclaimed = prometheus.NewDesc("snowfall_http_connections_reclaimed_total",
		"Connections that did no work (idle, stalled, silent, or waiting: answered 503) closed to admit a client while the listener's connection cap was full, by listener.", []string{"listener"}, nil)
	descInfo = prometheus.NewDesc("snowfall_info",
		"The layout and node values served; always 1.", []string{"layout", "spec", "generator", "dc", "worker"}, nil)
)

// sourceCollector reports the source's counters from one Stats snapshot per scrape.
type sourceCollector struct{ s *Server }

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIssued, descOverloads, descBackwards, descRefused, descFenced, descRemaining,
		descConnsOpen, descConnsReclaimed, descInfo} {
		ch <- d
	}
	describeLease(ch)
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	st := s.src.Stats()
	fenced := 0.0
	if st.Fenced != nil {
		fenced = 1
	}
	ch <- prometheus.MustNewConstMetric(descIssued, prometheus.CounterValue, float64(st.Issued))
	ch <- prometheus.MustNewConstMetric(descOverloads, prometheus.CounterValue, float64(st.SequenceOverloads))
	ch <- prometheus.MustNewConstMetric(descBackwards, prometheus.CounterValue, float64(st.ClockBackwards))
	ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(s.refused.Load()))
	ch <- prometheus.MustNewConstMetric(descFenced, prometheus.GaugeValue, fenced)
	name := ""
	if l := s.src.Layout(); !l.IsZero() { // else not known yet
		name = l.Name()
		ch <- prometheus.MustNewConstMetric(descRemaining, prometheus.GaugeValue, l.End().Sub(s.now()).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, name, st.Spec,
		strconv.FormatInt(st.Node.Generator, 10), strconv.FormatInt(st.Node.DC, 10), strconv.FormatInt(st.Node.Worker, 10))
	s.limiters.Range(func(k, v any) bool {
		l := v.(*limiter)
		ch <- prometheus.MustNewConstMetric(descConnsOpen, prometheus.GaugeValue, float64(l.open()), k.(string))
		ch <- prometheus.MustNewConstMetric(descConnsReclaimed, prometheus.CounterValue, float64(l.reclaimed.Load()), k.(string))
		return true
	})
	s.collectLease(ch)
}
