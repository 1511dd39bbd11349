package fleet

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"
)

// stepBack kills server 0 of a static fleet and restarts it with its clock 5 s behind, and returns
// the outcome and the id of the restarted process.
func stepBack(t *testing.T, state bool, wait time.Duration) (run, int) {
	cfg := Config{Servers: 2, StateFiles: state}
	restarted := 0
	res := pullDuring(t, cfg, 1, func(ctx context.Context, f *Fleet) error {
		if err := f.killRestartAt(ctx, 0, -skew); err != nil {
			return err
		}
		_, restarted = f.Current(0)
		sleep(ctx, wait)
		return nil
	})
	return res, restarted
}

// killRestartAt kills slot i and restarts it with clock offset d.
func (f *Fleet) killRestartAt(ctx context.Context, i int, d time.Duration) error {
	if err := f.Signal(i, syscall.SIGKILL); err != nil {
		return err
	}
	f.Wait(i, 10*time.Second)
	f.SetOffset(i, d)
	return f.Restart(ctx, i)
}

// TestFleetClockStepBack restarts a static server with a state file and a clock 5 s behind: it
// issues no ID at or below those it issued before, and serves again once its clock passes the mark.
func TestFleetClockStepBack(t *testing.T) {
	// The restarted server waits for its clock to pass the recorded mark: the step plus the mark's
	// lead (one second by default).
	res, restarted := stepBack(t, true, skew+2*time.Second)
	r := res.report
	summary := r.Summary("static-stepback", map[string]int{SigKill: 1, Skew: 1})
	printSummary(t, summary)
	if !r.OK() {
		t.Fatalf("restart with the clock stepped back broke the guarantees (logs in %s):\n%s", res.dir, r.Problems())
	}
	if !slices.ContainsFunc(res.log.Requests, func(q Request) bool { return q.Process == restarted }) {
		t.Errorf("the restarted server (process %d) never served once its clock passed the mark", restarted)
	}
	if r.Unavailable[0] < 3*time.Second {
		t.Errorf("server 0 unavailable for %v after a 5s step back; it must wait for its clock to pass the mark", r.Unavailable[0])
	}
}

// TestFleetControls shows that the checks catch the faults they are for, by running fleets that
// are broken on purpose.
func TestFleetControls(t *testing.T) {
	t.Run("two servers with one generator id", func(t *testing.T) {
		res := pullDuring(t, Config{Servers: 2, Generators: []int64{7, 7}}, 1, func(ctx context.Context, f *Fleet) error { return nil })
		if r := res.report; r.Duplicates == 0 {
			t.Errorf("no duplicates found from two servers sharing generator 7: %s", r.Summary("control", nil))
		}
	})
	t.Run("clock stepped back without a state file", func(t *testing.T) {
		res, _ := stepBack(t, false, time.Second)
		if r := res.report; r.OrderViolations == 0 {
			t.Errorf("no order violations found after a restart 5s back without a state file: %s", r.Summary("control", nil))
		}
	})
}
