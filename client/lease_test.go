package client

import (
	"context"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
	"github.com/snowfall-go/snowfall/internal/server"
	"github.com/snowfall-go/snowfall/memassign"
)

// serveSource serves src with a real server on a random loopback port; the test closes it.
func serveSource(t *testing.T, src snowfall.Source, now func() time.Time) string {
	t.Helper()
	srv, err := server.New(server.Config{Source: src, Now: now})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// statusSource is a generator that reports a lease status of the test's choosing.
type statusSource struct {
	*snowfall.Generator
	status snowfall.LeaseStatus
}

func (s statusSource) Lease() snowfall.LeaseStatus { return s.status }

// TestStatsLeaseEveryField has the real server and the real client exchange /stats for a source
// whose lease status has every field set, and checks that every field of api.Lease arrives, set
// and equal to what the source reported: a field one side forgets fails here.
func TestStatsLeaseEveryField(t *testing.T) {
	now := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 5}})
	if err != nil {
		t.Fatal(err)
	}
	src := statusSource{g, snowfall.LeaseStatus{
		GeneratorID: 5,
		State:       "fenced",
		Expires:     now.Add(1500 * time.Millisecond),
		Mark:        now.Add(3 * time.Second),
		Renewals:    11,
		Failures:    3,
		Losses:      2,
		LastRenewal: now.Add(-4 * time.Second),
		LastError:   errors.New("sqlassign: renew: connection refused"),
	}}
	c := newClient(t, serveSource(t, src, func() time.Time { return now }))
	st, err := c.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Lease == nil {
		t.Fatalf("Stats().Lease is nil for a leased server; stats %+v", st)
	}
	v := reflect.ValueOf(*st.Lease)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("lease field %s did not arrive (zero)", v.Type().Field(i).Name)
		}
	}
	want := api.Lease{ID: 5, State: "fenced", Expiry: now.Add(1500 * time.Millisecond), ExpiresInS: 1.5, Mark: now.Add(3 * time.Second),
		Renewals: 11, Failures: 3, Losses: 2, LastRenewal: now.Add(-4 * time.Second),
		LastError: "lease in doubt: renewals are failing, so this server stopped issuing until one succeeds"}
	if diff := cmp.Diff(want, *st.Lease); diff != "" {
		t.Errorf("lease mismatch (-want +got):\n%s", diff)
	}
}

// TestStatsOfLeasedServer reads /stats of a real server whose generator id is leased from a real
// (in-memory) store, while the lease is held and once renewals fail, so that the client's reading
// of the lease is checked against what a live lease reports. (A loss needs the store back and
// another holder; TestStatsLeaseEveryField covers losses.)
func TestStatsOfLeasedServer(t *testing.T) {
	ctx := context.Background()
	store := memassign.New(nil)
	lg, err := snowfall.NewLeased(ctx, store, snowfall.LeaseSettings{Probe: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("NewLeased: %v", err)
	}
	t.Cleanup(func() { lg.Close() })
	c := newClient(t, serveSource(t, lg, nil))

	// stats polls until ok accepts the lease, for at most 5s.
	stats := func(what string, ok func(*api.Lease) bool) *api.Lease {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			st, err := c.Stats(ctx)
			if err != nil {
				t.Fatalf("Stats: %v", err)
			}
			if st.Lease == nil {
				t.Fatalf("Stats().Lease is nil for a leased server; stats %+v", st)
			}
			if ok(st.Lease) {
				return st.Lease
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s lease within 5s; last %+v", what, st.Lease)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	before := lg.Lease()
	l := stats("renewed", func(l *api.Lease) bool { return l.Renewals > 0 })
	after := lg.Lease()
	if l.ID != after.GeneratorID || l.State != "held" || l.LastError != "" {
		t.Errorf("lease id %d state %q last_error %q, want %d held without an error", l.ID, l.State, l.LastError, after.GeneratorID)
	}
	// A renewal in between moves the times from before's to after's.
	for _, f := range []struct {
		name          string
		got, from, to time.Time
	}{
		{"expiry", l.Expiry, before.Expires, after.Expires},
		{"mark", l.Mark, before.Mark, after.Mark},
		{"last_renewal", l.LastRenewal, before.LastRenewal, after.LastRenewal},
	} {
		if f.got.IsZero() || f.got.Before(f.from.Add(-time.Millisecond)) || f.got.After(f.to.Add(time.Millisecond)) {
			t.Errorf("lease %s %v, want within [%v, %v] (±1ms)", f.name, f.got, f.from, f.to)
		}
	}
	if l.ExpiresInS <= 0 || !l.Expiry.After(time.Now().Add(-time.Second)) {
		t.Errorf("lease expiry %v, expires_in_s %v: want a lease that has not run out", l.Expiry, l.ExpiresInS)
	}

	store.Fail(errors.New("store down"))
	l = stats("failing", func(l *api.Lease) bool { return l.State != "held" && l.Failures > 0 })
	if l.LastError == "" || l.Renewals == 0 {
		t.Errorf("lease %+v while the store fails: want last_error and the renewals so far", l)
	}
}
