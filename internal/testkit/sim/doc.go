// Package sim is a deterministic simulation of the lease protocol: it runs the real
// snowfall.Leased and snowfall.Generator code of many holders against a model of the manifest, in
// the virtual time of a testing/synctest bubble, with every fault decided by a seed.
//
// # What runs
//
// Five holder hosts (slots) each run incarnations of snowfall.NewLeased one after another on a
// manifest of 8 generator ids (a layout with a 3-bit gen field, an 8-bit sequence and a 1995 epoch),
// probe 1 s, lease 2 s, margin 200 ms. Two worker goroutines per incarnation call Next and Fill
// every 1 to 30 ms. An incarnation ends after 0.3 to 15 s, by Close or by a crash (its link is cut,
// so nothing more reaches the store, while calls already sent still arrive), racing the workers'
// calls in flight. One run lasts 40 s of virtual time.
//
// The manifest is the real memassign code on a steppable database clock (model, net.go). Each
// incarnation reaches it through a link that, call by call, delays the call before the store applies
// it (60 % a few ms, 20 % up to 200 ms, 20 % 0.5 to 4 s: often past the caller's deadline, so that a
// later call is applied first), applies it a second time (6 %: half of them up to 3 s later, half 2
// to 12 s later, past the lease and the tenures that follow it), loses the reply after applying it
// (4 %), or drops it silently (1 %: neither applied nor answered). A link is also cut off now and
// then (a network partition of 0.6 to 10.6 s): the calls sent meanwhile wait and are applied when it
// heals. A caller whose context ends gets ctx.Err(), and its call is still applied when its time
// comes. Claims are the two calls of the Assigner contract (Free, then a Claim conditioned on what
// Free read), each with its own faults.
//
// Clocks (clock.go) are the bubble's time plus an offset. Most incarnations have a right clock
// (within ±400 ms, stepped within that range); one in five has a wrong one: an hour ahead or behind,
// or 2 to 5 s off, stepped within ±2 s of that. A holder's chaos goroutine also freezes it for 0.3 to
// 4.3 s (every read of its clock, and every call it sends, waits for the thaw), and a worker now and
// then arms a preemption of 1 to 800 ms for its own next call, which the clock serves between the
// generator's permit load and its clock read. The database clock steps within ±5 s every 0.5 to 5 s.
//
// # Checks
//
// Every ID a call returns is recorded with its holder and the call's start and end; the model
// records every tenure the store applied (its floor, the marks it recorded, its release). Kinds of
// violation:
//
//   - duplicate: an ID issued twice, by any holders;
//   - order: IDs of one generator id not increasing from tenure to tenure, in the order the store
//     applied the claims, or along one worker's calls within a tenure;
//   - fence: an ID outside every tenure of its generator id its holder was told of, or outside that
//     tenure's range (above its floor, at or below the highest mark it recorded);
//   - after-release: an ID of a released tenure above the mark its Close released (Close must
//     cover calls in flight);
//   - mark-lowered: a renewal that lowered the stored mark (marks must only rise);
//   - revived: a claim that put a tenure's token back on a row after another tenure held it (a
//     claim applied twice, or late, must fail: its holder would renew and issue over the IDs of
//     the tenures between);
//   - stall: a holder with a right clock that issued nothing for more than five lease lengths since
//     a ClockBackwardsError while an id whose mark is not ahead of its clock was free. (A holder
//     fenced for as long is not counted: slow calls and freezes do that by design.)
//
// Duplicates and order violations are also counted by cause: close-race (the earlier tenure issued
// above the mark its Close released: defect 1 of issue 10) or lowered-mark (the later tenure's floor
// lies below what the earlier one issued, and it was not released: defect 2).
//
// # Determinism
//
// Every decision maker draws from its own PCG stream, seeded by the run's seed and its identity: the
// database, each slot's incarnation (clock class, life, crash or Close), each incarnation's link
// (whose calls are sequential: the keeper makes them one at a time, Close after it stopped), its chaos
// goroutine and each of its workers. So the fault schedule does not depend on how goroutines
// interleave. The interleaving itself still does: goroutines woken at the same virtual instant run in
// the Go scheduler's order, and the lease code's own retry jitter and tokens come from the global
// random sources. A replayed seed therefore gives the same schedule and almost always the same
// violations, with ID counts that differ by a few per cent; SNOWFALL_SIM_REPEAT measures it.
//
// # Limits
//
// Times in the bubble carry no monotonic reading, so a permit's validity is measured on the holder's
// wall clock alone: a clock stepped back stretches it. That only makes the fence weaker than on a
// real host; uniqueness must still hold through the mark. Holders are leased only: restarts of
// static generators with and without a state file (package statefile) are not simulated.
//
// # Running
//
//	go test ./internal/testkit/sim                      # seeds 1-30; fails on any violation
//	SNOWFALL_SIM_SEEDS=1000 go test ./internal/testkit/sim -v             # more seeds
//	SNOWFALL_SIM_FIRST=5000 SNOWFALL_SIM_SEEDS=100 go test ./internal/testkit/sim -v
//	SNOWFALL_SIM_DURATION=10m go test -timeout 0 ./internal/testkit/sim -v   # search until the time is up
//	SNOWFALL_SIM_SEED=123 go test -run '^TestSim$' ./internal/testkit/sim -v  # replay one seed
//	SNOWFALL_SIM_SEED=123 SNOWFALL_SIM_REPEAT=10 go test -run '^TestSim$' ./internal/testkit/sim -v
//
// A failing seed is printed with its violations and the command that replays it. Every run prints
// one summary line (and appends it to $SNOWFALL_FLEET_SUMMARY, which .ci/run prints):
//
//	sim: seeds=30 ids=… holders=… faults[close=… crash=… db-step=… dup=… …] duplicates=0 order_violations=0 … schedules_per_s=…
//
// The simulation proves it can see with TestFindsKnownDefects, built only with the tag simbugs: for
// each switch of internal/simbug (CloseRace, LowerMark, FarMarkClaim) it puts the defect back, and
// for defect 4 of issue 18 it uses a seam instead (Options.UnconditionedReplays: the link applies a
// duplicated claim to the row as it is when the duplicate arrives, as a store that does not honour
// the Claim contract would); then it searches until a violation of that defect's kind
// (after-release, mark-lowered, stall, revived) appears:
//
//	go test -tags simbugs -run TestFindsKnownDefects ./internal/testkit/sim -v
//
// A revived tenure turns into duplicate IDs only when its holder is cut off through the tenures
// between and then renews, and its clock is behind theirs by more than the time that passed: the
// root package's TestReplayedClaimRevivesNothing builds that case by hand.
package sim
