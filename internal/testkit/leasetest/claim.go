package leasetest

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

func testDistinct(t *testing.T, b Backend) {
	t.Run("OneProcess", func(t *testing.T) { testDistinctVia(t, b, false) })
	t.Run("ManyProcesses", func(t *testing.T) { testDistinctVia(t, b, true) })
}

// handle is another handle on an Assigner's manifest: a value of its own, so that the claims through
// it share nothing with those through other handles in this process, as those of other processes
// would not. It counts the claims that conflicted.
type handle struct {
	snowfall.Assigner
	conflicts *atomic.Int64
}

func (h handle) Claim(ctx context.Context, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	c, err := h.Assigner.Claim(ctx, r)
	if errors.Is(err, snowfall.ErrClaimConflict) {
		h.conflicts.Add(1)
	}
	return c, err
}

// testDistinctVia starts 32 holders at once on one manifest, through one Assigner or (apart)
// through a handle each, and checks that they hold distinct ids and issue distinct IDs.
func testDistinctVia(t *testing.T, b Backend, apart bool) {
	a := b.New(t)
	const n = 32
	ls := make([]*snowfall.Leased, n)
	errs := make([]error, n)
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			via := a
			if apart {
				via = &handle{a, &conflicts}
			}
			// A probe long enough that a slow store (SQLite under -race with durable commits, 32 serialized
			// claims) does not fence the first holders before they renew: this test is about
			// distinct ids; the timing tests are elsewhere.
			ls[i], errs[i] = snowfall.NewLeased(t.Context(), via, snowfall.LeaseSettings{Probe: 5 * time.Second})
		})
	}
	wg.Wait()
	if apart {
		t.Logf("%d holders through handles of their own: all held %v after the start, %d claims conflicted", n,
			time.Since(start).Round(time.Millisecond), conflicts.Load())
	}
	seen := map[int64]int{}
	for i, l := range ls {
		if errs[i] != nil {
			t.Fatalf("acquirer %d: %v", i, errs[i])
		}
		defer l.Close()
		id := l.Lease().GeneratorID
		if j, dup := seen[id]; dup {
			t.Fatalf("acquirers %d and %d both hold generator %d", j, i, id)
		}
		seen[id] = i
	}
	// IDs from all of them are distinct.
	ids := map[snowfall.ID]bool{}
	for _, l := range ls {
		for range 100 {
			id, err := l.Next()
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if ids[id] {
				t.Fatalf("duplicate ID %d", id)
			}
			ids[id] = true
		}
	}
	recs, err := a.Leases(t.Context())
	if err != nil {
		t.Fatalf("Leases: %v", err)
	}
	if got, want := len(recs), n; got != want {
		t.Errorf("Leases: got %d records, want %d", got, want)
	}
}

// FillPool acquires every generator id of the default layout concurrently, then one more. It
// returns how long filling took.
func FillPool(t testing.TB, a snowfall.Assigner, workers int) time.Duration {
	t.Helper()
	size := int(snowfall.PoolSize(snowfall.DefaultLayout()))
	ls := make([]*snowfall.Leased, size)
	errs := make([]error, size)
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := range size {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ls[i], errs[i] = snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Probe: time.Minute})
		})
	}
	wg.Wait()
	took := time.Since(start)
	defer func() {
		var cw sync.WaitGroup
		for _, l := range ls {
			if l != nil {
				cw.Go(func() { l.Close() })
			}
		}
		cw.Wait()
	}()
	seen := make([]bool, size)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("acquirer %d: %v", i, err)
		}
		id := ls[i].Lease().GeneratorID
		if seen[id] {
			t.Fatalf("generator %d held twice", id)
		}
		seen[id] = true
	}
	_, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{})
	if !errors.Is(err, snowfall.ErrNoFreeGenerator) {
		t.Fatalf("NewLeased on a full pool: got %v, want ErrNoFreeGenerator", err)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(size)) {
		t.Errorf("error %q does not say how many ids exist (%d)", err, size)
	}
	return took
}

func testFill(t *testing.T, b Backend) {
	took := FillPool(t, b.New(t), 256)
	t.Logf("filled %d generator ids in %v", snowfall.PoolSize(snowfall.DefaultLayout()), took)
}

func testReuse(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 200 * time.Millisecond}
	l1, err := snowfall.NewLeased(t.Context(), a, s)
	if err != nil {
		t.Fatalf("NewLeased: %v", err)
	}
	last, err := l1.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	id1 := l1.Lease().GeneratorID
	if err := l1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l1.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := l1.Lease().State; got != "closed" {
		t.Errorf("state after Close: got %q, want closed", got)
	}
	if _, err := l1.Next(); !errors.Is(err, snowfall.ErrFenced) || !errors.Is(err, snowfall.ErrClosed) {
		t.Errorf("Next after Close: got %v, want ErrFenced wrapping ErrClosed", err)
	}
	start := time.Now()
	l2 := lease(t, a, s)
	if got := l2.Lease().GeneratorID; got != id1 {
		t.Fatalf("after Close: got generator %d, want the released %d", got, id1)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("re-acquiring a released id took %v", d)
	}
	id, err := l2.NextContext(t.Context())
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if id <= last {
		t.Errorf("new holder issued %d, not above the released holder's last %d", id, last)
	}
}

func testMismatch(t *testing.T, b Backend) {
	a := b.New(t)
	lease(t, a, snowfall.LeaseSettings{Probe: time.Second})
	tw, _ := snowfall.Preset(snowfall.PresetTwitter)
	_, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Layout: tw})
	if !errors.Is(err, snowfall.ErrMismatch) {
		t.Fatalf("other layout: got %v, want ErrMismatch", err)
	}
	def := snowfall.DefaultLayout()
	for _, s := range []string{tw.Spec(), def.Spec()} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	ep, err := def.WithEpoch(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	_, err = snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Layout: ep})
	if !errors.Is(err, snowfall.ErrMismatch) {
		t.Fatalf("other epoch: got %v, want ErrMismatch", err)
	}
	for _, s := range []string{"2021-01-01T00:00:00Z", "2020-01-01T00:00:00Z"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	// The zero layout accepts the manifest's.
	l := lease(t, a, snowfall.LeaseSettings{Probe: time.Second})
	if got, want := l.Layout().Spec(), def.Spec(); got != want {
		t.Errorf("layout: got %s, want %s", got, want)
	}
}
