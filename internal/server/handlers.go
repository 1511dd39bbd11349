package server

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
)

// Header values shared by all responses; net/http only reads them.
var (
	jsonType   = []string{"application/json"}
	textType   = []string{"text/plain; charset=utf-8"}
	allowGet   = []string{"GET, HEAD"}
	retryOne   = []string{"1"}
	zeroLength = []string{"0"}
	noSniff    = []string{"nosniff"}
	noStore    = []string{"no-store"}
	closeConn  = []string{"close"}
	okBody     = []byte("ok\n")
	idsPrefix  = []byte(`{"ids":[`) // an api.Batch, written by hand a chunk at a time
)

// routes registers the API and the admin endpoints. Every path has a GET pattern and a method-less
// one answering 405, so that other methods get a JSON error with an Allow header; "/" catches
// unknown paths.
func (s *Server) routes() {
	type route struct {
		path, name string
		h          handlerFunc
	}
	admin := []route{
		{"/stats", "stats", s.serveStats},
		{"/metrics", "metrics", s.serveMetrics()},
		{"/healthz", "healthz", s.serveReady},
		{"/readyz", "readyz", s.serveReady},
		{"/livez", "livez", s.serveLive},
	}
	api := append([]route{
		{"/{$}", "id", s.serveID},
		{"/ids", "ids", s.serveIDs},
		{"/decode/{id}", "decode", s.serveDecode},
	}, admin...)
	mux := func(routes []route, unknown handlerFunc) *http.ServeMux {
		m := http.NewServeMux()
		for _, r := range routes {
			h := s.metrics.route(r.name, r.h)
			if r.name == "id" {
				s.idRoute = h
			}
			m.Handle("GET "+r.path, h)
			m.Handle(r.path, s.metrics.route(r.name, methodNotAllowed))
		}
		m.Handle("/", s.metrics.route("unknown", unknown))
		return m
	}
	s.mux = mux(api, notFound)
	adminMux := mux(admin, notFoundAdmin)
	s.special = s.metrics.route("unknown", special)
	s.handler = http.HandlerFunc(s.serveHTTP)
	s.admin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = noSniff
		h["Cache-Control"] = noStore
		if r.ContentLength != 0 {
			refuseBody(w)
		}
		if r.Method == http.MethodConnect || r.RequestURI == "*" {
			s.special.ServeHTTP(w, r)
			return
		}
		adminMux.ServeHTTP(w, r)
	})
}

// serveHTTP sends GET / straight to its handler, the hot path, and everything else through the mux.
// Every answer, errors included, carries nosniff and no-store: IDs must never come from a cache.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["X-Content-Type-Options"] = noSniff
	h["Cache-Control"] = noStore
	if r.ContentLength != 0 {
		refuseBody(w)
	}
	if r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.idRoute.ServeHTTP(w, r)
		return
	}
	if r.Method == http.MethodConnect || r.RequestURI == "*" {
		s.special.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// refuseBody makes the answer to a request that brought a body (any length, chunked, or
// announced with Expect: 100-continue) close its connection without reading the body. No route
// takes a body; and net/http, to reuse the connection, would read up to 256 KiB of it after the
// handler, for as long as ReadTimeout allows: a client sending it a byte at a time would hold the
// connection, busy, all that while. The request is answered as usual.
func refuseBody(w http.ResponseWriter) {
	w.Header()["Connection"] = closeConn
	// A deadline already past: what net/http reads of the body after the answer fails at once.
	http.NewResponseController(w).SetReadDeadline(time.Now())
}

// special answers what the mux would answer in plain text: OPTIONS * (the server's methods),
// another method on * (400) and CONNECT (405).
func special(w http.ResponseWriter, r *http.Request) int {
	switch {
	case r.Method == http.MethodConnect:
		return methodNotAllowed(w, r)
	case r.Method == http.MethodOptions:
		h := w.Header()
		h["Allow"] = allowGet
		h["Content-Length"] = zeroLength
		w.WriteHeader(http.StatusOK)
		return http.StatusOK
	}
	return writeError(w, http.StatusBadRequest, "the request target * is for OPTIONS only")
}

// handlerFunc serves a request and returns the status code it answered with.
type handlerFunc func(w http.ResponseWriter, r *http.Request) int

func methodNotAllowed(w http.ResponseWriter, r *http.Request) int {
	w.Header()["Allow"] = allowGet
	return writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use GET")
}

func notFound(w http.ResponseWriter, r *http.Request) int {
	return writeError(w, http.StatusNotFound, "no such path: "+clip(r.URL.Path)+" (paths: /, /ids, /stats, /decode/{id}, /metrics, /livez, /readyz, /healthz)")
}

func notFoundAdmin(w http.ResponseWriter, r *http.Request) int {
	return writeError(w, http.StatusNotFound, "no such path on the admin listener: "+clip(r.URL.Path)+" (paths: /livez, /readyz, /healthz, /metrics, /stats; IDs are served on the API listener)")
}

// writeError answers with code and an api.Error of msg.
func writeError(w http.ResponseWriter, code int, msg string) int {
	b, _ := json.Marshal(api.Error{Message: msg})
	h := w.Header()
	h["Content-Type"] = jsonType
	h["X-Content-Type-Options"] = noSniff
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
	return code
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// bufPool holds the byte buffers answers are formatted in.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64); return &b }}

// serveID answers GET / with one ID as a bare decimal number, as pysnowflake does.
func (s *Server) serveID(w http.ResponseWriter, r *http.Request) int {
	if r.Method == http.MethodHead {
		return s.headIDs(w, jsonType)
	}
	ctx := boundWait(r.Context(), s.timeout)
	id, err := s.src.NextContext(ctx)
	ctx.release()
	if err != nil {
		return s.unavailable(w, r, err)
	}
	bp := bufPool.Get().(*[]byte)
	b := strconv.AppendInt((*bp)[:0], int64(id), 10)
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Cache-Control"] = noStore
	w.Write(b)
	*bp = b
	bufPool.Put(bp)
	return http.StatusOK
}

// chunkIDs is how many IDs /ids fills and writes at a time: a batch is streamed in chunks, so a
// request holds at most one chunk's memory however large n is and however slowly it is read. A
// batch of up to chunkIDs is all or nothing (200 with every ID, or 503).
const chunkIDs = 4096

// idPool holds the ID slices /ids fills, one chunk each.
var idPool = sync.Pool{New: func() any { s := make([]snowfall.ID, chunkIDs); return &s }}

// serveIDs answers GET /ids?n=N with one decimal ID a line, or an api.Batch when the request
// accepts JSON (written byte for byte as encoding/json would write it). It fills and writes the IDs a chunk at a time, each chunk's
// filling holding one of the server's batch slots (Config.MaxBatchWork), which it gives back before
// writing: a slow reader holds neither a slot nor more than a chunk's memory. When a chunk after
// the first cannot be filled, the answer is cut off (the client sees a truncated body, never a
// short list that looks whole).
func (s *Server) serveIDs(w http.ResponseWriter, r *http.Request) int {
	n, msg := parseN(r.URL.RawQuery, s.maxIDs)
	if msg != "" {
		return writeError(w, http.StatusBadRequest, msg)
	}
	asJSON := acceptsJSON(r.Header["Accept"])
	contentType := textType
	if asJSON {
		contentType = jsonType
	}
	if r.Method == http.MethodHead {
		return s.headIDs(w, contentType)
	}
	ip := idPool.Get().(*[]snowfall.ID)
	defer idPool.Put(ip)
	// A batch of one chunk is formatted whole and sent with its length; a longer one is written
	// through a small buffer of its own, so a slow reader holds little memory.
	pool, flushAt := &bufPool, math.MaxInt
	if n > chunkIDs {
		pool, flushAt = &streamPool, streamBuf-32
	}
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	b := (*bp)[:0]
	defer func() { *bp = b[:0] }()
	for done := 0; done < n; {
		ids := (*ip)[:min(chunkIDs, n-done)]
		if err := s.fillChunk(r, ids); err != nil {
			if done == 0 {
				return s.unavailable(w, r, err)
			}
			if errors.Is(context.Cause(r.Context()), errPreempted) {
				s.log.Debug("ids answer cut off: it waited while a new connection needed room at the cap", "sent", done, "asked", n)
			} else {
				s.log.Warn("ids answer cut off: the source stopped issuing mid-batch", "sent", done, "asked", n, "err", err)
			}
			panic(http.ErrAbortHandler)
		}
		if done == 0 {
			w.Header()["Content-Type"] = contentType
			if asJSON {
				b = append(b, idsPrefix...)
			}
		}
		for i, id := range ids {
			if asJSON {
				if done+i > 0 {
					b = append(b, ',')
				}
				b = append(b, '"')
				b = strconv.AppendInt(b, int64(id), 10)
				b = append(b, '"')
			} else {
				b = strconv.AppendInt(b, int64(id), 10)
				b = append(b, '\n')
			}
			if len(b) >= flushAt {
				if _, err := w.Write(b); err != nil {
					return http.StatusOK // the client went away
				}
				b = b[:0]
			}
		}
		done += len(ids)
		if done == n {
			if asJSON {
				b = append(b, "]}\n"...)
			}
			if n <= chunkIDs {
				w.Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
			}
		}
	}
	w.Write(b)
	return http.StatusOK
}

// streamBuf is the size of the buffers long /ids answers are written through.
const streamBuf = 16 << 10

// streamPool holds the buffers of long /ids answers.
var streamPool = sync.Pool{New: func() any { b := make([]byte, 0, streamBuf); return &b }}

// fillChunk fills ids from the source within the request's wait bound, holding a batch slot.
func (s *Server) fillChunk(r *http.Request, ids []snowfall.ID) error {
	ctx := boundWait(r.Context(), s.timeout)
	defer ctx.release()
	select {
	case s.batch <- struct{}{}:
	default:
		select {
		case s.batch <- struct{}{}:
			if !ctx.resume() { // the limiter ended the wait meanwhile
				<-s.batch
				return context.Cause(r.Context())
			}
		case <-ctx.Done():
			if err := context.Cause(r.Context()); err != nil {
				return err
			}
			return errBusy
		}
	}
	_, err := s.src.Fill(ctx, ids)
	<-s.batch
	return err
}

// errBusy is the cause of a 503 when every batch slot stayed taken for the request's wait bound.
var errBusy = errors.New("server: too many batch requests at once")

// headIDs answers HEAD on an ID path with the headers a GET would get, without issuing: IDs are not
// spent on requests whose bodies nobody reads (load balancers' checks often use HEAD /).
func (s *Server) headIDs(w http.ResponseWriter, contentType []string) int {
	h := w.Header()
	h["Cache-Control"] = noStore
	if err := s.checkReady(); err != nil {
		h["Retry-After"] = retryAfter(err)
		return writeError(w, http.StatusServiceUnavailable, publicReason(err, s.now()))
	}
	h["Content-Type"] = contentType
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

// parseN reads n from a raw query, URL-decoded ("n=%35" is 5); msg says what is wrong with it.
// The value must be plain decimal digits: no sign, no spaces, no base prefix.
func parseN(rawQuery string, limit int) (n int, msg string) {
	var v string
	found := false
	for q := rawQuery; q != "" && !found; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, val, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+") {
			var err error
			if k, err = url.QueryUnescape(k); err != nil {
				continue
			}
		}
		if k == "n" {
			v, found = val, true
		}
	}
	want := "n must be a whole number in [1, " + strconv.Itoa(limit) + "]"
	if !found {
		return 0, "missing query parameter n: " + want
	}
	if strings.ContainsAny(v, "%+") {
		d, err := url.QueryUnescape(v)
		if err != nil {
			return 0, "n=" + strconv.Quote(clip(v)) + " is not a number: " + want
		}
		v = d
	}
	digits := strings.TrimPrefix(v, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, "n=" + strconv.Quote(clip(v)) + " is not a number: " + want
	}
	// Leading zeros do not count: 0005 is 5 however many zeros lead it, and a value too wide for
	// an int is out of range, not "not a number".
	if len(strings.TrimLeft(digits, "0")) > 12 {
		return 0, "n=" + clip(v) + " out of range: " + want
	}
	n, _ = strconv.Atoi(v)
	if n < 1 || n > limit {
		return 0, "n=" + clip(v) + " out of range: " + want
	}
	return n, ""
}

// unavailable answers an ID request the source could not serve with 503, Retry-After and a reason
// fit for anonymous clients; the error itself goes to the log.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, err error) int {
	s.refused.Add(1)
	if cause := context.Cause(r.Context()); errors.Is(cause, errPreempted) {
		h := w.Header()
		h["Retry-After"] = retryOne
		h["Connection"] = closeConn
		return writeError(w, http.StatusServiceUnavailable, "the connection cap is full: this request gave its place to a new client while it waited; retry")
	}
	if r.Context().Err() != nil {
		return http.StatusServiceUnavailable // the client went away; nobody reads the answer
	}
	s.log.Debug("id request refused", "path", r.URL.Path, "err", err)
	if le := s.leaseAcquiring(); le != nil {
		err = le // "fenced" would say that a lease was held
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, errBusy) {
		s.checkReady() // what /readyz says, not this request's wording of it
	}
	w.Header()["Retry-After"] = retryAfter(err)
	msg := publicReason(err, s.now())
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "no ID could be issued within " + s.timeout.String()
	}
	return writeError(w, http.StatusServiceUnavailable, msg)
}

// serveDecode answers GET /decode/{id}.
func (s *Server) serveDecode(w http.ResponseWriter, r *http.Request) int {
	l := s.src.Layout()
	if l.IsZero() {
		w.Header()["Retry-After"] = retryOne
		return writeError(w, http.StatusServiceUnavailable, "the layout is not known yet: this server has not reached its lease store")
	}
	d, err := snowfall.DecodeString(l, r.PathValue("id"))
	if err != nil {
		return writeError(w, http.StatusBadRequest, err.Error())
	}
	return writeJSON(w, http.StatusOK, d)
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return writeError(w, http.StatusInternalServerError, "server: encoding the answer: "+err.Error())
	}
	w.Header()["Content-Type"] = jsonType
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
	return code
}
