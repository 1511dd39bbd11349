package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
	"github.com/snowfall-go/snowfall/internal/server"
)

// fixedSource is a Source whose stats, lease and IDs never change, so that the server's answers can
// be compared byte for byte.
type fixedSource struct {
	layout snowfall.Layout
	stats  snowfall.Stats
	lease  *snowfall.LeaseStatus // nil: the source holds no lease
}

func (f *fixedSource) NextContext(context.Context) (snowfall.ID, error) {
	if f.stats.Fenced != nil {
		return 0, f.stats.Fenced
	}
	return 1234567890123, nil
}

func (f *fixedSource) Fill(ctx context.Context, ids []snowfall.ID) (int, error) {
	for i := range ids {
		ids[i] = snowfall.ID(1234567890123 + i)
	}
	return len(ids), nil
}

func (f *fixedSource) Stats() snowfall.Stats   { return f.stats }
func (f *fixedSource) Layout() snowfall.Layout { return f.layout }

// leasedSource is a fixedSource that holds a lease.
type leasedSource struct{ *fixedSource }

func (l leasedSource) Lease() snowfall.LeaseStatus { return *l.lease }

// TestWireDocuments pins the exact bytes of every document the server writes: the keys, their
// order, which are omitted when empty and how times and durations are formatted. Clients (ours,
// pysnowflake's, scripts) read these; a refactor must not change a byte of them.
func TestWireDocuments(t *testing.T) {
	start := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	now := start.Add(12345 * time.Millisecond)
	pysnow, _ := snowfall.Preset(snowfall.PresetPysnowflake)
	base := snowfall.Stats{
		Spec:              snowfall.DefaultLayout().Spec(),
		EpochMs:           snowfall.DefaultLayout().EpochMs(),
		Node:              snowfall.Node{Generator: 9},
		Timestamp:         now.UnixMilli(),
		LastTimestamp:     now.UnixMilli() - 7,
		Sequence:          3,
		Issued:            42,
		SequenceOverloads: 2,
		ClockBackwards:    1,
	}
	held := &snowfall.LeaseStatus{
		GeneratorID: 9,
		State:       "held",
		Expires:     now.Add(8*time.Second + 250*time.Millisecond + 400*time.Microsecond),
		Mark:        now.Add(5 * time.Second),
		Renewals:    17,
		Failures:    2,
		Losses:      1,
		LastRenewal: now.Add(-1500 * time.Millisecond),
		LastError:   errors.New("sqlassign: postgres://user:secret@db/x: timeout"), // history once held: not shown
	}
	lost := &snowfall.LeaseStatus{GeneratorID: -1, State: "lost", Failures: 3, Losses: 1,
		LastError: errors.New("sqlassign: postgres://user:secret@db/x: no free generator")}
	fenced := *held
	fenced.State = "fenced"
	fenced.Expires = now.Add(-2 * time.Second)

	with := func(f func(*snowfall.Stats)) snowfall.Stats { st := base; f(&st); return st }
	tests := []struct {
		name string
		src  snowfall.Source
		path string
		hdr  []string
		code int
		want string
	}{
		{"stats static", &fixedSource{layout: snowfall.DefaultLayout(), stats: base}, "/stats", nil, 200,
			`{"dc":0,"worker":0,"timestamp":1795442412345,"last_timestamp":1795442412338,"sequence":3,"sequence_overload":2,"errors":0,` +
				`"generator":9,"layout":"snowfall","spec":"` + base.Spec + `","epoch_ms":` + itoa(base.EpochMs) +
				`,"ids_generated":42,"uptime_s":12.345,"clock_backwards":1}` + "\n"},
		{"stats without gen field or spec", &fixedSource{layout: pysnow, stats: with(func(st *snowfall.Stats) {
			st.Spec, st.EpochMs, st.Node = "", pysnow.EpochMs(), snowfall.Node{DC: 5, Worker: 200}
		})}, "/stats", nil, 200,
			`{"dc":5,"worker":200,"timestamp":1795442412345,"last_timestamp":1795442412338,"sequence":3,"sequence_overload":2,"errors":0,` +
				`"layout":"pysnowflake","spec":"","epoch_ms":` + itoa(pysnow.EpochMs()) +
				`,"ids_generated":42,"uptime_s":12.345,"clock_backwards":1}` + "\n"},
		{"stats leased held", leasedSource{&fixedSource{layout: snowfall.DefaultLayout(), stats: base, lease: held}}, "/stats", nil, 200,
			`{"dc":0,"worker":0,"timestamp":1795442412345,"last_timestamp":1795442412338,"sequence":3,"sequence_overload":2,"errors":0,` +
				`"generator":9,"layout":"snowfall","spec":"` + base.Spec + `","epoch_ms":` + itoa(base.EpochMs) +
				`,"ids_generated":42,"uptime_s":12.345,"clock_backwards":1,` +
				`"lease":{"id":9,"state":"held","expiry":"2026-11-23T14:00:20.595Z","expires_in_s":8.25,"mark":"2026-11-23T14:00:17.345Z",` +
				`"renewals":17,"failures":2,"losses":1,"last_renewal":"2026-11-23T14:00:10.845Z"}}` + "\n"},
		{"stats leased fenced", leasedSource{&fixedSource{layout: snowfall.DefaultLayout(), stats: with(func(st *snowfall.Stats) {
			st.Fenced = snowfall.ErrFenced
		}), lease: &fenced}}, "/stats", nil, 200,
			`{"dc":0,"worker":0,"timestamp":1795442412345,"last_timestamp":1795442412338,"sequence":3,"sequence_overload":2,"errors":0,` +
				`"generator":9,"layout":"snowfall","spec":"` + base.Spec + `","epoch_ms":` + itoa(base.EpochMs) +
				`,"ids_generated":42,"uptime_s":12.345,"clock_backwards":1,` +
				`"fenced":"generator fenced: its high-water mark or lease was not renewed in time",` +
				`"lease":{"id":9,"state":"fenced","expiry":"2026-11-23T14:00:10.345Z","expires_in_s":0,"mark":"2026-11-23T14:00:17.345Z",` +
				`"renewals":17,"failures":2,"losses":1,"last_renewal":"2026-11-23T14:00:10.845Z",` +
				`"last_error":"lease in doubt: renewals are failing, so this server stopped issuing until one succeeds"}}` + "\n"},
		{"stats leased lost, never held", leasedSource{&fixedSource{layout: snowfall.DefaultLayout(), stats: base, lease: lost}}, "/stats", nil, 200,
			`{"dc":0,"worker":0,"timestamp":1795442412345,"last_timestamp":1795442412338,"sequence":3,"sequence_overload":2,"errors":0,` +
				`"generator":9,"layout":"snowfall","spec":"` + base.Spec + `","epoch_ms":` + itoa(base.EpochMs) +
				`,"ids_generated":42,"uptime_s":12.345,"clock_backwards":1,` +
				`"lease":{"id":-1,"state":"lost","expiry":"","expires_in_s":0,` +
				`"renewals":0,"failures":3,"losses":1,"last_error":"no lease: this server is claiming a generator id"}}` + "\n"},
		{"ids json", &fixedSource{layout: snowfall.DefaultLayout(), stats: base}, "/ids?n=3", []string{"Accept", "application/json"}, 200,
			`{"ids":["1234567890123","1234567890124","1234567890125"]}` + "\n"},
		{"ids text", &fixedSource{layout: snowfall.DefaultLayout(), stats: base}, "/ids?n=2", nil, 200,
			"1234567890123\n1234567890124\n"},
		{"error 400", &fixedSource{layout: snowfall.DefaultLayout(), stats: base}, "/ids?n=0", nil, 400,
			`{"error":"n=0 out of range: n must be a whole number in [1, 100000]"}` + "\n"},
		{"error 503", &fixedSource{layout: snowfall.DefaultLayout(), stats: with(func(st *snowfall.Stats) {
			st.Fenced = snowfall.ErrFenced
		})}, "/", nil, 503,
			`{"error":"generator fenced: its high-water mark or lease was not renewed in time"}` + "\n"},
		{"readyz ok", &fixedSource{layout: snowfall.DefaultLayout(), stats: base}, "/readyz", nil, 200, "ok\n"},
		{"readyz lost", leasedSource{&fixedSource{layout: snowfall.DefaultLayout(), stats: base, lease: lost}}, "/readyz", nil, 503,
			"no lease: this server is claiming a generator id\n"},
		// 5222582975863398403 is pysnowflake's 2026-11-23T14:00:12.345Z, dc 5, worker 200, sequence 3.
		{"decode", &fixedSource{layout: pysnow, stats: base}, "/decode/5222582975863398403", nil, 200,
			`{"id":"5222582975863398403","unix_ms":1795442412345,"time":"2026-11-23T14:00:12.345Z","sequence":3,"dc":5,"worker":200}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := start
			srv, err := server.New(server.Config{Source: tt.src, Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			clock = now
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			for i := 0; i+1 < len(tt.hdr); i += 2 {
				req.Header.Set(tt.hdr[i], tt.hdr[i+1])
			}
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.code || rec.Body.String() != tt.want {
				t.Errorf("GET %s: %d\n%s\nwant %d\n%s", tt.path, rec.Code, rec.Body.String(), tt.code, tt.want)
			}
		})
	}
}

// TestBatchIsEncodingJSON checks that the /ids answer the server streams by hand is what
// encoding/json writes for an api.Batch, in one chunk and across chunks.
func TestBatchIsEncodingJSON(t *testing.T) {
	srv, err := server.New(server.Config{Source: &fixedSource{layout: snowfall.DefaultLayout()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 3, 4096, 4097, 10000} {
		req := httptest.NewRequest(http.MethodGet, "/ids?n="+strconv.Itoa(n), nil)
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		var b api.Batch
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || len(b.IDs) != n {
			t.Fatalf("GET /ids?n=%d: %d IDs, %v", n, len(b.IDs), err)
		}
		want, _ := json.Marshal(b)
		if got := rec.Body.String(); got != string(want)+"\n" {
			t.Errorf("GET /ids?n=%d: the answer differs from encoding/json's api.Batch", n)
		}
	}
}

func itoa(v int64) string { return snowfall.ID(v).String() }

// TestWireUniqueAmong pins unique_among: with Config.UniqueAmong set, /stats says which servers the
// leased id is unique among, just before the lease.
func TestWireUniqueAmong(t *testing.T) {
	start := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	now := start.Add(12345 * time.Millisecond)
	src := leasedSource{&fixedSource{layout: snowfall.DefaultLayout(), stats: snowfall.Stats{
		Spec: snowfall.DefaultLayout().Spec(), EpochMs: snowfall.DefaultLayout().EpochMs(), Node: snowfall.Node{Generator: 3},
		Timestamp: now.UnixMilli(), LastTimestamp: now.UnixMilli(),
	}, lease: &snowfall.LeaseStatus{GeneratorID: 3, State: "held", Expires: now.Add(8 * time.Second)}}}
	clock := start
	srv, err := server.New(server.Config{Source: src, Now: func() time.Time { return clock },
		UniqueAmong: func() string { return "servers sharing /var/lib/snowfall/leases.db (group api)" }})
	if err != nil {
		t.Fatal(err)
	}
	clock = now
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stats", nil))
	want := `{"dc":0,"worker":0,"timestamp":1795442412345,"last_timestamp":1795442412345,"sequence":0,"sequence_overload":0,"errors":0,` +
		`"generator":3,"layout":"snowfall","spec":"` + snowfall.DefaultLayout().Spec() + `","epoch_ms":` + itoa(snowfall.DefaultLayout().EpochMs()) +
		`,"ids_generated":0,"uptime_s":12.345,"clock_backwards":0,` +
		`"unique_among":"servers sharing /var/lib/snowfall/leases.db (group api)",` +
		`"lease":{"id":3,"state":"held","expiry":"2026-11-23T14:00:20.345Z","expires_in_s":8,"renewals":0,"failures":0,"losses":0}}` + "\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("GET /stats:\n%s\nwant\n%s", got, want)
	}
	var st api.Stats
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.UniqueAmong != "servers sharing /var/lib/snowfall/leases.db (group api)" {
		t.Errorf("read back: %q %v", st.UniqueAmong, err)
	}
}
