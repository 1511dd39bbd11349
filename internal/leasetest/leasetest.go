// Package leasetest is the test suite every snowfall.Assigner must pass, run by the assigners'
// tests against real stores, and the helper process that holds a lease in a subprocess.
package leasetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// HelperVar is the environment variable that turns a test binary into a lease-holding helper
// process; its value is passed to the backend's open function.
const HelperVar = "SNOWFALL_LEASE_HELPER"

// SmallLayout has four generator ids, for tests that must fill the pool or get a given id back.
func SmallLayout() snowfall.Layout {
	l, err := snowfall.ParseLayout("time=41,seq=20,gen=2")
	if err != nil {
		panic(err)
	}
	return l
}

// Backend is what the suite needs from an assigner.
type Backend struct {
	// New returns a handle on a fresh, empty manifest of the test's own (and drops it at cleanup).
	New func(t *testing.T) snowfall.Assigner
	// Helper returns the value of HelperVar that makes a subprocess open the manifest a is a
	// handle on; nil when the backend cannot be shared between processes.
	Helper func(a snowfall.Assigner) string
	// Faulty returns a handle on a fresh manifest that cut makes unreachable until restore.
	Faulty func(t *testing.T) (a snowfall.Assigner, cut, restore func())
}

// Run runs the suite.
func Run(t *testing.T, b Backend) {
	t.Run("DistinctConcurrent", func(t *testing.T) { testDistinct(t, b) })
	t.Run("FillPool", func(t *testing.T) { testFill(t, b) })
	t.Run("ReuseAfterClose", func(t *testing.T) { testReuse(t, b) })
	t.Run("Mismatch", func(t *testing.T) { testMismatch(t, b) })
	t.Run("ClockBehindTakeover", func(t *testing.T) { testClockBehind(t, b) })
	t.Run("Lost", func(t *testing.T) { testLost(t, b) })
	t.Run("MarksOnlyRise", func(t *testing.T) { testMarksOnlyRise(t, b) })
	t.Run("FarMarkAvoided", func(t *testing.T) { testFarMark(t, b) })
	if b.Helper != nil {
		t.Run("TakeoverAfterKill", func(t *testing.T) { testKill(t, b) })
		t.Run("StoppedHolder", func(t *testing.T) { testStop(t, b) })
	}
	if b.Faulty != nil {
		t.Run("Unreachable", func(t *testing.T) { testUnreachable(t, b) })
	}
}

// lease opens a Leased generator and closes it at cleanup.
func lease(t *testing.T, a snowfall.Assigner, s snowfall.LeaseSettings) *snowfall.Leased {
	t.Helper()
	l, err := snowfall.NewLeased(t.Context(), a, s)
	if err != nil {
		t.Fatalf("NewLeased: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func testDistinct(t *testing.T, b Backend) {
	a := b.New(t)
	const n = 32
	ls := make([]*snowfall.Leased, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// A probe long enough that a slow store (SQLite under -race with durable commits, 32 serialized
			// claims) does not fence the first holders before they renew: this test is about
			// distinct ids; the timing tests are elsewhere.
			ls[i], errs[i] = snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Probe: 5 * time.Second})
		})
	}
	wg.Wait()
	seen := map[int64]int{}
	for i, l := range ls {
		if errs[i] != nil {
			t.Fatalf("acquirer %d: %v", i, errs[i])
		}
		defer l.Close()
		id := l.Lease().Generator
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
		id := ls[i].Lease().Generator
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
	id1 := l1.Lease().Generator
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
	if got := l2.Lease().Generator; got != id1 {
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

func testClockBehind(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 200 * time.Millisecond}
	l1, err := snowfall.NewLeased(t.Context(), a, s)
	if err != nil {
		t.Fatalf("NewLeased: %v", err)
	}
	var max1 snowfall.ID
	for range 1000 {
		id, err := l1.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		max1 = id
	}
	id1 := l1.Lease().Generator
	for range snowfall.PoolSize(SmallLayout()) - 1 {
		lease(t, a, s) // hold every other id: the holder behind must take id1 back
	}
	if err := l1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Ten seconds behind: more than a generator waits by default, so the holder gives the id back.
	s.Clock = snowfall.OffsetClock(-10 * time.Second)
	_, err = snowfall.NewLeased(t.Context(), a, s)
	if !errors.Is(err, snowfall.ErrClockBackwards) {
		t.Fatalf("NewLeased with the only free id's mark 10 s ahead: got %v, want ErrClockBackwards", err)
	}
	if held := heldIDs(t, a); held[id1] {
		t.Fatalf("generator %d still held after the claimer gave it back", id1)
	}
	// Told to wait up to 20 s, it keeps the id and waits for its clock to pass the mark.
	s.MaxBackwards = 20 * time.Second
	l2 := lease(t, a, s)
	if got := l2.Lease().Generator; got != id1 {
		t.Fatalf("got generator %d, want %d", got, id1)
	}
	deadline := time.Now().Add(500 * time.Millisecond)
	errs := 0
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		id, err := l2.NextContext(ctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Next: got %v, want it to wait while the clock is behind the mark", err)
			}
			errs++
			continue
		}
		if id <= max1 {
			t.Fatalf("holder with a clock 10 s behind issued %d, not above the previous holder's %d", id, max1)
		}
	}
	if errs == 0 {
		t.Errorf("a clock 10 s behind the mark issued without waiting")
	}
}

// heldIDs returns the ids whose leases are live.
func heldIDs(t *testing.T, a snowfall.Assigner) map[int64]bool {
	t.Helper()
	recs, err := a.Leases(t.Context())
	if err != nil {
		t.Fatalf("Leases: %v", err)
	}
	held := map[int64]bool{}
	for _, r := range recs {
		held[r.ID] = true
	}
	return held
}

// testMarksOnlyRise (issue 10, defect 2): a renewal that arrives after a later one (its client gave
// up, another connection succeeded) must not lower the recorded mark, or the next holder's floor.
func testMarksOnlyRise(t *testing.T, b Backend) {
	a := b.New(t)
	ctx := t.Context()
	size := snowfall.PoolSize(SmallLayout())
	if _, err := snowfall.ReadManifest(ctx, a, snowfall.Manifest{Layout: SmallLayout()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Millisecond)
	c, err := a.Claim(ctx, snowfall.ClaimRequest{Size: size, Token: "t1", Lease: time.Minute, Now: now, Ahead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	high, low := now.Add(20*time.Second), now.Add(10*time.Second)
	if err := a.Renew(ctx, c.ID, "t1", time.Minute, high); err != nil {
		t.Fatalf("renewal R2: %v", err)
	}
	if err := a.Renew(ctx, c.ID, "t1", time.Minute, low); err != nil { // R1, late
		t.Fatalf("late renewal R1: %v", err)
	}
	recs, err := a.Leases(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("Leases: %+v, %v", recs, err)
	}
	if !recs[0].Mark.Equal(high) {
		t.Errorf("mark after a late, lower renewal: got %v, want %v (marks only rise)", recs[0].Mark, high)
	}
	// The next holder's floor is the higher mark.
	if e, ok := a.(Expirer); ok {
		if err := e.Expire(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		c2, err := a.Claim(ctx, snowfall.ClaimRequest{Size: size, Token: "t2", Lease: time.Minute, Now: now.Add(time.Minute)})
		if err != nil || c2.ID != c.ID {
			t.Fatalf("claim after expiry: %+v, %v", c2, err)
		}
		if !c2.Prev.Equal(high) {
			t.Errorf("next holder's floor: got %v, want %v", c2.Prev, high)
		}
	}
}

// testFarMark (issue 10, defect 4): a holder whose clock ran an hour ahead leaves its id's mark an
// hour ahead; a claimer with a right clock takes another free id and issues at once, and when that
// id is the only one free, gives it back instead of sitting on it.
func testFarMark(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 200 * time.Millisecond}
	ahead := s
	ahead.Clock = snowfall.OffsetClock(time.Hour)
	l1, err := snowfall.NewLeased(t.Context(), a, ahead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l1.Next(); err != nil {
		t.Fatal(err)
	}
	far := l1.Lease().Generator
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range snowfall.PoolSize(SmallLayout()) - 1 {
		l := lease(t, a, s)
		if got := l.Lease().Generator; got == far {
			t.Fatalf("holder %d with a right clock took generator %d, whose mark is an hour ahead, while others were free", i, got)
		}
		if _, err := l.Next(); err != nil {
			t.Fatalf("holder %d: Next: %v", i, err)
		}
	}
	start := time.Now()
	_, err = snowfall.NewLeased(t.Context(), a, s)
	if !errors.Is(err, snowfall.ErrClockBackwards) {
		t.Fatalf("NewLeased with only the far id free: got %v, want ErrClockBackwards", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("giving the far id back took %v", d)
	}
	if heldIDs(t, a)[far] {
		t.Errorf("generator %d still held after it was given back", far)
	}
}

// testLost: a holder whose row is taken stops issuing at once and gets a new id.
func testLost(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 100 * time.Millisecond}
	l := lease(t, a, s)
	if _, err := l.Next(); err != nil {
		t.Fatalf("Next: %v", err)
	}
	st := l.Lease()
	// Take the row over, as another instance would after the lease expired.
	thief := stealer{a}
	if err := thief.steal(t, st.Generator, s.Layout); err != nil {
		t.Skipf("backend cannot simulate a takeover: %v", err)
	}
	select {
	case err := <-l.Lost():
		if !errors.Is(err, snowfall.ErrLeaseLost) {
			t.Errorf("loss: got %v, want ErrLeaseLost", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no loss reported")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := l.Next()
		if err == nil && l.Lease().Generator != st.Generator {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new id after the loss: last error %v, status %+v", err, l.Lease())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stealer takes a held row over through the assigner's Expire hook.
type stealer struct{ a snowfall.Assigner }

// Expirer is implemented by assigners that can end a lease early, for tests.
type Expirer interface {
	Expire(ctx context.Context, id int64) error
}

func (s stealer) steal(t *testing.T, id int64, l snowfall.Layout) error {
	e, ok := s.a.(Expirer)
	if !ok {
		return errors.New("no Expire method")
	}
	if err := e.Expire(t.Context(), id); err != nil {
		return err
	}
	// Claim it: the lowest free id is the expired one unless lower ones are free. The thief's
	// clock is an hour ahead, so that no free id's mark is ahead of it and claims go by id.
	for {
		c, err := s.a.Claim(t.Context(), snowfall.ClaimRequest{Size: snowfall.PoolSize(l), Token: "thief",
			Lease: time.Minute, Now: time.Now().Add(time.Hour), Ahead: time.Minute})
		if err != nil {
			return err
		}
		if c.ID == id {
			return nil
		}
	}
}

// startHolder makes a's manifest with the layout and probe of s, so that the child cannot pick
// others, and starts a child process (this test binary, as the helper) that holds a lease on a and
// reports on its stdout, which the scanner reads. The child is killed when the test ends.
func startHolder(t *testing.T, b Backend, a snowfall.Assigner, s snowfall.LeaseSettings) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	if _, err := snowfall.ReadManifest(t.Context(), a, snowfall.Manifest{Layout: s.Layout, Probe: s.Probe}); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), HelperVar+"="+b.Helper(a))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(out)
}

func testKill(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 200 * time.Millisecond}
	cmd, sc := startHolder(t, b, a, s)
	var child int64 = -1
	var childIDs []snowfall.ID
	for sc.Scan() && len(childIDs) < 200 {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "generator "); ok {
			child, _ = strconv.ParseInt(v, 10, 64)
			continue
		}
		id, err := snowfall.ParseID(line)
		if err != nil {
			t.Fatalf("helper printed %q", line)
		}
		childIDs = append(childIDs, id)
	}
	if child < 0 || len(childIDs) < 200 {
		t.Fatalf("helper: generator %d, %d IDs; %v", child, len(childIDs), sc.Err())
	}
	// Hold every other id, so that the next claim can only get the child's.
	for range snowfall.PoolSize(s.Layout) - 1 {
		lease(t, a, s)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for sc.Scan() { // IDs printed before the kill
		if id, err := snowfall.ParseID(sc.Text()); err == nil {
			childIDs = append(childIDs, id)
		}
	}
	cmd.Wait()
	var l *snowfall.Leased
	for {
		var err error
		l, err = snowfall.NewLeased(t.Context(), a, s)
		if err == nil {
			break
		}
		if !errors.Is(err, snowfall.ErrNoFreeGenerator) {
			t.Fatalf("NewLeased: %v", err)
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("no takeover 10 s after the kill")
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer l.Close()
	t.Logf("took over generator %d %v after SIGKILL", l.Lease().Generator, time.Since(killed).Round(time.Millisecond))
	if got := l.Lease().Generator; got != child {
		t.Fatalf("took over generator %d, want the killed holder's %d", got, child)
	}
	if d := time.Since(killed); d < 200*time.Millisecond {
		t.Errorf("took over after %v, before the lease could have expired", d)
	}
	top := slices.Max(childIDs)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for range 1000 {
		id, err := l.NextContext(ctx)
		if err != nil {
			t.Fatalf("Next after takeover: %v", err)
		}
		if id <= top {
			t.Fatalf("new holder issued %d, not above the killed holder's %d", id, top)
		}
	}
}

// Helper runs the helper process when HelperVar is set: it opens the manifest with open, holds a
// lease, prints "generator N" and then one ID a millisecond until killed. It returns otherwise.
func Helper(open func(spec string) (snowfall.Assigner, error)) {
	spec := os.Getenv(HelperVar)
	if spec == "" {
		return
	}
	a, err := open(spec)
	if err == nil {
		var l *snowfall.Leased
		l, err = snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 200 * time.Millisecond})
		if err == nil {
			fmt.Printf("generator %d\n", l.Lease().Generator)
			for {
				id, err := l.Next()
				if err == nil {
					fmt.Println(id)
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	fmt.Fprintln(os.Stderr, "helper:", err)
	os.Exit(3)
}

func testUnreachable(t *testing.T, b Backend) {
	a, cut, restore := b.Faulty(t)
	const probe, leaseLen = 200 * time.Millisecond, 600 * time.Millisecond
	l := lease(t, a, snowfall.LeaseSettings{Layout: SmallLayout(), Probe: probe, Lease: leaseLen})
	time.Sleep(probe + 50*time.Millisecond) // let a renewal happen
	if _, err := l.Next(); err != nil {
		t.Fatalf("Next: %v", err)
	}
	cut()
	cutAt := time.Now()
	var lastOK, fenced time.Time
	for time.Since(cutAt) < 3*leaseLen {
		_, err := l.Next()
		now := time.Now()
		if err == nil {
			if !fenced.IsZero() {
				t.Fatalf("issued again %v after being fenced, while cut", now.Sub(fenced))
			}
			lastOK = now
		} else {
			if !errors.Is(err, snowfall.ErrFenced) || !errors.Is(err, snowfall.ErrLeaseLost) {
				t.Fatalf("Next while cut: got %v, want ErrFenced wrapping ErrLeaseLost", err)
			}
			if fenced.IsZero() {
				fenced = now
			}
		}
		time.Sleep(time.Millisecond)
	}
	st := l.Lease()
	if fenced.IsZero() {
		t.Fatalf("still issuing %v after the store became unreachable", time.Since(cutAt))
	}
	// The last renewal began at or before st.LastRenewal; the store's lease ends at least
	// leaseLen after that.
	if !lastOK.IsZero() && !lastOK.Before(st.LastRenewal.Add(leaseLen)) {
		t.Errorf("issued at %v, not before the lease could expire (%v)", lastOK, st.LastRenewal.Add(leaseLen))
	}
	if st.State != "fenced" {
		t.Errorf("state while cut: got %q, want fenced", st.State)
	}
	t.Logf("fenced %v after the cut (last renewal %v before the cut)", fenced.Sub(cutAt).Round(time.Millisecond),
		cutAt.Sub(st.LastRenewal).Round(time.Millisecond))
	restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := l.Next()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not issuing 10 s after the store came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("issuing again %v after the restore", time.Since(deadline.Add(-10*time.Second)).Round(time.Millisecond))
}

// testStop: a holder stopped with SIGSTOP past its lease, whose id is taken over meanwhile, issues
// nothing with that id after SIGCONT that the new holder could also issue.
func testStop(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 200 * time.Millisecond}
	cmd, sc := startHolder(t, b, a, s)
	if !sc.Scan() {
		t.Fatalf("helper printed nothing: %v", sc.Err())
	}
	child, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "generator "), 10, 64)
	if err != nil {
		t.Fatalf("helper printed %q", sc.Text())
	}
	var mu sync.Mutex
	var childIDs []snowfall.ID
	read := make(chan struct{})
	go func() {
		defer close(read)
		for sc.Scan() {
			if id, err := snowfall.ParseID(sc.Text()); err == nil {
				mu.Lock()
				childIDs = append(childIDs, id)
				mu.Unlock()
			}
		}
	}()
	for range snowfall.PoolSize(s.Layout) - 1 {
		lease(t, a, s)
	}
	time.Sleep(100 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var l *snowfall.Leased
	for {
		l, err = snowfall.NewLeased(t.Context(), a, s)
		if err == nil {
			break
		}
		if !errors.Is(err, snowfall.ErrNoFreeGenerator) || time.Since(stopped) > 10*time.Second {
			cmd.Process.Signal(syscall.SIGCONT)
			t.Fatalf("no takeover of the stopped holder's id: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer l.Close()
	tookOver := time.Since(stopped)
	if got := l.Lease().Generator; got != child {
		t.Fatalf("took over generator %d, want the stopped holder's %d", got, child)
	}
	var first snowfall.ID
	mine := map[snowfall.ID]bool{}
	for i := range 200 {
		id, err := l.Next()
		if err != nil {
			t.Fatalf("Next after takeover: %v", err)
		}
		if i == 0 {
			first = id
		}
		mine[id] = true
	}
	mu.Lock()
	before := len(childIDs)
	mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the woken holder runs on: it must be fenced, then find its id lost
	for range 200 {
		id, err := l.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		mine[id] = true
	}
	cmd.Process.Kill()
	<-read
	mu.Lock()
	defer mu.Unlock()
	if before < 50 {
		t.Fatalf("helper issued only %d IDs before SIGSTOP", before)
	}
	for i, id := range childIDs {
		if mine[id] {
			t.Fatalf("duplicate ID %d, issued by both the stopped and the new holder", id)
		}
		if p, _ := s.Layout.Decode(id); p.Generator == child && id >= first {
			t.Fatalf("stopped holder issued %d (ID %d of %d, %d after SIGCONT) at or above the new holder's first %d",
				id, i, len(childIDs), len(childIDs)-before, first)
		}
	}
	t.Logf("stopped holder issued %d IDs before SIGSTOP and %d after SIGCONT; took over %v after SIGSTOP",
		before, len(childIDs)-before, tookOver.Round(time.Millisecond))
}
