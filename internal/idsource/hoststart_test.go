package idsource

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
)

// randomHost generates a host identity of one of the forms deployments have: a named server, a
// cloud instance, a container (its id as hostname, the image's machine-id or none), a pod.
func randomHost(r *rand.Rand) hostIdentity {
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[r.IntN(16)]
		}
		return string(b)
	}
	var h hostIdentity
	switch r.IntN(5) {
	case 0:
		h.hostname = fmt.Sprintf("web-%02d", r.IntN(100))
	case 1:
		h.hostname = fmt.Sprintf("ip-10-%d-%d-%d", r.IntN(256), r.IntN(256), r.IntN(256))
	case 2:
		h.hostname = hex(12) // a container named after its id
	case 3:
		h.hostname = fmt.Sprintf("snowfall-%s-%s", hex(10), hex(5)) // a pod
	default:
		h.hostname = "localhost"
	}
	switch r.IntN(3) {
	case 0: // none readable
	case 1:
		h.machineID = "4c4c4544003b4a108058b4c04f513532" // one image's, shared by its containers
	default:
		h.machineID = hex(32)
	}
	return h
}

// TestHostStartSpread measures how the start of claims spreads over generated deployments: two
// independent ones (each a host identity and a fresh store's random salt) must share a start, for
// each pool size, with probability 1/size, and the starts must be uniform over the ids. It prints
// the measured rate of the default layout's pool.
func TestHostStartSpread(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 3))
	const n = 200_000
	starts := make([]int64, n)
	for i := range starts {
		salt := fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
		starts[i] = startOf(randomHost(r), salt)
		if starts[i] < 0 || starts[i] >= snowfall.MaxPoolSize {
			t.Fatalf("start %d out of [0, %d)", starts[i], snowfall.MaxPoolSize)
		}
	}
	for _, size := range []int64{4, 256, 2048, snowfall.MaxPoolSize} {
		// Pairs of independent deployments: consecutive starts.
		same := 0
		for i := 0; i+1 < n; i += 2 {
			if starts[i]%size == starts[i+1]%size {
				same++
			}
		}
		pairs := n / 2
		rate, want := float64(same)/float64(pairs), 1/float64(size)
		sigma := math.Sqrt(want * (1 - want) / float64(pairs))
		line := fmt.Sprintf("host start: pool %d: pairs=%d collisions=%d rate=%.6f want 1/%d=%.6f", size, pairs, same, rate, size, want)
		if size == 2048 {
			fmt.Println(line)
		}
		t.Log(line)
		if math.Abs(rate-want) > 4*sigma {
			t.Errorf("pool %d: two deployments share a start at rate %.6f, want %.6f ± %.6f", size, rate, want, 4*sigma)
		}
		// Uniform: a chi-square over the ids (for the pools the sample fills well).
		if size <= 2048 {
			counts := make([]float64, size)
			for _, s := range starts {
				counts[s%size]++
			}
			exp, chi := float64(n)/float64(size), 0.0
			for _, c := range counts {
				chi += (c - exp) * (c - exp) / exp
			}
			df := float64(size - 1)
			if z := (chi - df) / math.Sqrt(2*df); z > 5 {
				t.Errorf("pool %d: starts not uniform: chi-square %.0f for %d degrees of freedom", size, chi, size-1)
			}
		}
	}
	// The host's part alone (one salt for all): distinct identities share a start at 1/2048, and
	// identical ones (two "localhost"s without a machine-id, two containers of one image given one
	// hostname) always do, which is what the store's salt is for.
	distinct, distinctSame, identical := 0, 0, 0
	for range 100_000 {
		h1, h2 := randomHost(r), randomHost(r)
		if h1 == h2 {
			identical++
			continue
		}
		distinct++
		if startOf(h1, "")%2048 == startOf(h2, "")%2048 {
			distinctSame++
		}
	}
	line := fmt.Sprintf("host start: host part alone: %d pairs of distinct hosts, %d collisions (rate %.6f, want %.6f); %d pairs of identical hosts, all colliding without the salt",
		distinct, distinctSame, float64(distinctSame)/float64(distinct), 1.0/2048, identical)
	fmt.Println(line)
	t.Log(line)
	if want := float64(distinct) / 2048; math.Abs(float64(distinctSame)-want) > 4*math.Sqrt(want) {
		t.Errorf("distinct hosts share a start in %d of %d pairs, want about %.0f", distinctSame, distinct, want)
	}
	// Containers of one image on one host, one hostname given to all, a volume each: only the
	// stores' salts differ.
	h := hostIdentity{hostname: "snowfall", machineID: "4c4c4544003b4a108058b4c04f513532"}
	same := 0
	for range 100_000 {
		s1, s2 := startOf(h, fmt.Sprint(r.Uint64())), startOf(h, fmt.Sprint(r.Uint64()))
		if s1%2048 == s2%2048 {
			same++
		}
	}
	t.Logf("host start: one hostname and machine-id, two stores: %d of 100000 pairs share a start of 2048", same)
	if same > 100 {
		t.Errorf("stores with one hostname and machine-id share a start in %d of 100000 pairs, want about 49", same)
	}
}

// TestEmbeddedStartEndToEnd: fresh embedded stores of independent hosts give their holders the ids
// derived from each host and store, distinct but for the 1/2048 that share one; a host restarting on
// its own store gets its id back; servers sharing one store hold distinct ids.
func TestEmbeddedStartEndToEnd(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(18, 4))
	open := func(path string) assignurl.Store {
		t.Helper()
		a, err := assignurl.Open(ctx, mustParse(t, "sqlite://"+path), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	lease := func(a snowfall.Assigner, h hostIdentity) *snowfall.Leased {
		t.Helper()
		start, err := embeddedStart(ctx, a, h)
		if err != nil {
			t.Fatal(err)
		}
		l, err := snowfall.NewLeased(ctx, a, snowfall.LeaseSettings{Start: start, Probe: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := l.Lease().GeneratorID, start%2048; got != want {
			t.Fatalf("host %+v on a fresh store: generator %d, want its start %d", h, got, want)
		}
		return l
	}
	const pairs = 20
	same := 0
	for i := range pairs {
		var ids [2]int64
		for j := range ids {
			path := filepath.Join(t.TempDir(), "leases.db")
			h := randomHost(r)
			l := lease(open(path), h)
			ids[j] = l.Lease().GeneratorID
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			// The host restarts on its own store.
			l = lease(open(path), h)
			if got := l.Lease().GeneratorID; got != ids[j] {
				t.Errorf("pair %d: after a restart on its own store, generator %d, want %d again", i, got, ids[j])
			}
			l.Close()
		}
		if ids[0] == ids[1] {
			same++
		}
	}
	t.Logf("%d pairs of independent hosts on fresh stores: %d shared a generator id", pairs, same)
	if same > 1 { // 1/2048 each: more than one in 20 has a probability below 1e-4
		t.Errorf("%d of %d pairs of independent hosts on fresh stores took the same generator id", same, pairs)
	}
	// Servers of one host sharing one store: one start, distinct ids.
	a := open(filepath.Join(t.TempDir(), "leases.db"))
	h := randomHost(r)
	ls := make([]*snowfall.Leased, 8)
	var wg sync.WaitGroup
	for i := range ls {
		wg.Go(func() {
			start, err := embeddedStart(ctx, a, h)
			if err != nil {
				t.Error(err)
				return
			}
			ls[i], err = snowfall.NewLeased(ctx, a, snowfall.LeaseSettings{Start: start, Probe: time.Second})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	held := map[int64]bool{}
	for _, l := range ls {
		if l == nil {
			continue
		}
		defer l.Close()
		if id := l.Lease().GeneratorID; held[id] {
			t.Errorf("generator %d held twice on one store", id)
		} else {
			held[id] = true
		}
	}
}

// TestOpenEmbedded: Open on the embedded default store (Config.Embedded) leases the id this host
// derives with the store's salt, whether it claims before it returns or in the background; on a
// store given with --db, the lowest.
func TestOpenEmbedded(t *testing.T) {
	for _, c := range []struct {
		embedded, background bool
	}{{true, false}, {true, true}, {false, false}, {false, true}} {
		t.Run(fmt.Sprintf("embedded=%v,background=%v", c.embedded, c.background), func(t *testing.T) {
			db := mustParse(t, "sqlite://"+filepath.Join(t.TempDir(), "leases.db"))
			src, err := Open(context.Background(), Config{DB: db, Embedded: c.embedded, ExitOnStartFailure: !c.background,
				DBTimeout: 10 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			lease := func() snowfall.LeaseStatus { return src.src.(interface{ Lease() snowfall.LeaseStatus }).Lease() }
			for deadline := time.Now().Add(10 * time.Second); lease().State != snowfall.LeaseHeld; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no lease 10 s after Open: %+v", lease())
				}
			}
			got := lease().GeneratorID
			a, err := assignurl.Open(context.Background(), db, "")
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			props, err := a.Properties(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(0)
			if c.embedded {
				want = HostStart(props[PropStartSalt]) % 2048
			} else if _, ok := props[PropStartSalt]; ok {
				t.Errorf("a store given with --db got a salt: %v", props)
			}
			if got != want {
				t.Errorf("generator %d, want %d (salt %q)", got, want, props[PropStartSalt])
			}
		})
	}
}
