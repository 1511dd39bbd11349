package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
	"github.com/snowfall-go/snowfall/internal/server"
	"github.com/snowfall-go/snowfall/memassign"
)

// TestLeased checks that a leased source shows its lease in /stats, /metrics and /healthz, and that
// once the lease is in doubt the server refuses IDs with 503 and reports it.
func TestLeased(t *testing.T) {
	a := memassign.New(nil)
	l, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Probe: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	url := newServer(t, l, server.Config{})

	if a := do(t, "GET", url+"/"); a.code != 200 {
		t.Fatalf("GET /: %d %q", a.code, a.body)
	}
	if a := do(t, "GET", url+"/healthz"); a.code != 200 {
		t.Fatalf("healthz: %d %q", a.code, a.body)
	}
	time.Sleep(120 * time.Millisecond) // a renewal or two
	var st api.Stats
	body := do(t, "GET", url+"/stats").body
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Lease == nil || st.Generator == nil || st.Lease.ID != *st.Generator || st.Lease.State != "held" || st.Lease.Renewals == 0 {
		t.Fatalf("stats %s: want a held, renewed lease on the generator served", body)
	}
	if st.Layout != "snowfall" {
		t.Errorf("layout %q, want the preset's name snowfall for the manifest's layout", st.Layout)
	}
	if !st.Lease.Expiry.After(time.Now()) {
		t.Errorf("lease expiry %v, want a time in the future", st.Lease.Expiry)
	}
	metrics := do(t, "GET", url+"/metrics").body
	for _, want := range []string{`snowfall_lease_state{state="held"} 1`, `snowfall_lease_state{state="lost"} 0`,
		"snowfall_lease_renewals_total ", "snowfall_lease_expiry_seconds ", "snowfall_lease_generator 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// The store becomes unreachable: renewals fail, and the permit lapses before the lease could
	// expire. From then on every ID request gets 503 at once.
	a.Fail(errors.New("store unreachable"))
	deadline := time.Now().Add(2 * time.Second)
	for {
		h := do(t, "GET", url+"/healthz")
		if h.code == 503 {
			if !strings.Contains(h.body, "lease") {
				t.Errorf("healthz body %q does not name the lease", h.body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz still %d %q 2s after the store failed", h.code, h.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for time.Now().Before(deadline) {
		if do(t, "GET", url+"/").code == 503 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a := do(t, "GET", url+"/ids?n=10"); a.code != 503 || a.header.Get("Retry-After") == "" {
		t.Errorf("ids with the lease in doubt: %d %q, want 503 with Retry-After", a.code, a.body)
	}
	if m := do(t, "GET", url+"/metrics").body; !strings.Contains(m, `snowfall_lease_state{state="held"} 0`) {
		t.Errorf("metrics still show the lease held")
	}
}

// TestLeaseAcquiring: a source still acquiring its lease (every id held) answers /livez 200, and
// /readyz, GET / and /ids 503 with Retry-After and why, in words for anonymous clients; it serves
// once the lease is held.
func TestLeaseAcquiring(t *testing.T) {
	a := memassign.New(nil)
	two, err := snowfall.ParseLayout("time=41,seq=21,gen=1")
	if err != nil {
		t.Fatal(err)
	}
	settings := snowfall.LeaseSettings{Layout: two, Probe: 50 * time.Millisecond}
	holder, err := snowfall.NewLeased(context.Background(), a, settings)
	if err != nil {
		t.Fatal(err)
	}
	other, err := snowfall.NewLeased(context.Background(), a, settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	settings.Background = true
	l, err := snowfall.NewLeased(context.Background(), a, settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	url := newServer(t, l, server.Config{})
	time.Sleep(100 * time.Millisecond)
	if a := do(t, "GET", url+"/livez"); a.code != 200 {
		t.Errorf("/livez: %d %q", a.code, a.body)
	}
	for _, path := range []string{"/readyz", "/", "/ids?n=2"} {
		a := do(t, "GET", url+path)
		if a.code != 503 || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "acquiring") || !strings.Contains(a.body, "every generator id is held") {
			t.Errorf("%s: %d %q Retry-After %q; want 503 saying it is acquiring and every id is held", path, a.code, a.body, a.header.Get("Retry-After"))
		}
	}
	if m := do(t, "GET", url+"/metrics").body; !strings.Contains(m, `snowfall_lease_state{state="acquiring"} 1`) {
		t.Errorf("metrics do not show the lease acquiring")
	}
	holder.Close()
	deadline := time.Now().Add(5 * time.Second)
	for do(t, "GET", url+"/readyz").code != 200 {
		if time.Now().After(deadline) {
			t.Fatal("not ready 5s after the id was released")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if a := do(t, "GET", url+"/"); a.code != 200 {
		t.Errorf("GET / once held: %d %q", a.code, a.body)
	}
}

// fixedLease is a source whose lease is whatever the test says.
type fixedLease struct {
	*snowfall.Generator
	st snowfall.LeaseStatus
}

func (f *fixedLease) Lease() snowfall.LeaseStatus { return f.st }

// TestExpiresIn: /stats' expires_in_s (and snowfall_lease_expiry_seconds) is the time left on the
// lease this server holds, in [0, what is left], in every state: 0 with no expiry "" while
// acquiring (no lease yet), after a loss and once closed; 0, not negative, once the expiry passed.
func TestExpiresIn(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name       string
		st         snowfall.LeaseState
		expires    time.Time
		wantIn     float64
		wantExpiry bool
	}{
		{"held", snowfall.LeaseHeld, now.Add(12345 * time.Millisecond), 12.345, true},
		{"fenced, not expired yet", snowfall.LeaseFenced, now.Add(1500 * time.Millisecond), 1.5, true},
		{"fenced, expired", snowfall.LeaseFenced, now.Add(-3 * time.Second), 0, true},
		{"acquiring, never held", snowfall.LeaseAcquiring, time.Time{}, 0, false},
		{"acquiring after a loss", snowfall.LeaseAcquiring, now.Add(20 * time.Second), 0, false},
		{"lost", snowfall.LeaseLost, now.Add(20 * time.Second), 0, false},
		{"lost long ago", snowfall.LeaseLost, now.Add(-time.Hour), 0, false},
		{"closed", snowfall.LeaseClosed, now.Add(5 * time.Second), 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := &fixedLease{newGenerator(t, snowfall.Settings{}), snowfall.LeaseStatus{GeneratorID: 3, State: c.st, Expires: c.expires}}
			url := newServer(t, src, server.Config{Now: func() time.Time { return now }})
			body := do(t, "GET", url+"/stats").body
			var raw struct {
				Lease map[string]any `json:"lease"`
			}
			if err := json.Unmarshal([]byte(body), &raw); err != nil {
				t.Fatal(err)
			}
			in, ok := raw.Lease["expires_in_s"].(float64)
			if !ok || in != c.wantIn {
				t.Errorf("expires_in_s %v, want %v (stats %s)", raw.Lease["expires_in_s"], c.wantIn, body)
			}
			if got := raw.Lease["expiry"] != ""; got != c.wantExpiry {
				t.Errorf("expiry %v: shown %v, want %v", raw.Lease["expiry"], got, c.wantExpiry)
			}
			want := "snowfall_lease_expiry_seconds " + strconv.FormatFloat(c.wantIn, 'g', -1, 64) + "\n"
			if m := do(t, "GET", url+"/metrics").body; !strings.Contains(m, want) {
				i := strings.Index(m, "snowfall_lease_expiry_seconds ")
				t.Errorf("metrics lack %q: %.60s", want, m[max(i, 0):])
			}
		})
	}
}
