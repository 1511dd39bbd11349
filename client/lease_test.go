package client

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
	"github.com/snowfall-go/snowfall/memassign"
)

// TestStatsOfLeasedServer reads /stats of a real server whose generator id is leased, so that the
// client's reading of the lease is checked against what the server writes, not a hand-made body.
func TestStatsOfLeasedServer(t *testing.T) {
	ctx := context.Background()
	lg, err := snowfall.NewLeased(ctx, memassign.New(nil), snowfall.LeaseSettings{Probe: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("NewLeased: %v", err)
	}
	t.Cleanup(func() { lg.Close() })
	srv, err := server.New(server.Config{Source: lg})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	c := newClient(t, ts.URL)
	before := lg.Lease()
	st, err := c.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want := lg.Lease() // a renewal in between moves the expiry from before's to want's
	if st.Lease == nil {
		t.Fatalf("Stats().Lease is nil for a leased server; stats %+v", st)
	}
	if st.Lease.ID != want.Generator || st.Lease.State != string(want.State) {
		t.Errorf("lease id %d state %q, want %d %q", st.Lease.ID, st.Lease.State, want.Generator, want.State)
	}
	if st.Lease.Expiry.Before(before.Expires.Add(-time.Millisecond)) || st.Lease.Expiry.After(want.Expires.Add(time.Millisecond)) {
		t.Errorf("lease expiry %v, want within [%v, %v] (±1ms)", st.Lease.Expiry, before.Expires, want.Expires)
	}
	if !st.Lease.Expiry.After(time.Now()) {
		t.Errorf("lease expiry %v is not in the future", st.Lease.Expiry)
	}
}
