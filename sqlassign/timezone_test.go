package sqlassign_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// TestMySQLTimeZone (issue 10, defect 3): lease times are Unix milliseconds whatever the session's
// time zone, also in the hour that repeats when daylight saving ends. The session runs in
// Europe/Berlin (MariaDB's zone tables: .ci/services.sh loads them) with its clock frozen by SET
// timestamp at each of the two instants that read 02:30 local time on 2026-10-25. The clock is
// frozen on the assigner's one connection by the test (ExecForTest), not by the URL: a URL may
// not set timestamp (TestSessionVariables), since a server whose session clock is frozen ahead
// would take live leases as expired.
func TestMySQLTimeZone(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), // 02:30 CEST
		time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), // 02:30 CET, the repeated hour
		time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC),  // 03:30 CEST, just after the spring gap
	} {
		t.Run(at.Format(time.RFC3339), func(t *testing.T) {
			u, err := url.Parse(mysqlURL())
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("time_zone", "'Europe/Berlin'")
			u.RawQuery = q.Encode()
			a, err := sqlassign.Open(t.Context(), u.String(), sqlassign.Options{Group: group(), MaxConns: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := a.Drop(context.Background()); err != nil {
					t.Errorf("Drop: %v", err)
				}
				a.Close()
			})
			if err := sqlassign.ExecForTest(t.Context(), a, "SET timestamp = ?", at.Unix()); err != nil {
				t.Fatal(err)
			}
			c, err := leasetest.ClaimFirst(t.Context(), a, 4, snowfall.ClaimRequest{Token: "tz", Lease: time.Minute, Now: at})
			if err != nil {
				t.Fatalf("Claim: %v", err)
			}
			recs, err := a.Leases(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || recs[0].ID != c.ID {
				t.Fatalf("a lease of a minute, claimed at the session's frozen now: got %+v, want it live", recs)
			}
			if got := recs[0].Claimed; !got.Equal(at) {
				t.Errorf("claimed at: got %v, want %v (%v off)", got.UTC(), at, got.Sub(at))
			}
			if got, want := recs[0].Expires, at.Add(time.Minute); !got.Equal(want) {
				t.Errorf("expires: got %v, want %v", got.UTC(), want)
			}
		})
	}
}
