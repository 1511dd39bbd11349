// Package snowfall generates 64-bit, time-sortable unique IDs (Snowflake-style), at the speed limit
// of their layout, and never issues the same ID twice.
//
// # Layouts
//
// An ID is a non-negative int64: a zero sign bit, then fields from the highest bits to the lowest,
// filling 63 bits, or 53 (the top bits zero) for IDs that JavaScript numbers hold exactly. The time
// field always comes first, so IDs sort by the time they were made (k-sorted: IDs of one tick from
// different generators interleave). A Layout is data: five presets, or custom fields
// (ParseLayout("time=41,dc=5,worker=5,seq=12"), with an optional unit=10ms), each with its epoch,
// and optionally a spread ("twitter,spread=64", see Layout.WithSpread).
//
// The presets, each with 1 ms ticks (the package's Presets example prints these limits from the
// code):
//
// snowfall (the default), epoch 2020-01-01T00:00:00Z:
//
//	 63 62                                   23 22        11 10         0
//	+--+---------------------------------------+------------+------------+
//	|0 |             time (40 bits)            |  seq (12)  |  gen (11)  |
//	+--+---------------------------------------+------------+------------+
//	4,096 IDs per ms per generator; generators 0..2047;
//	2^40 ms ≈ 34.8 years: the time field runs out on 2054-11-03.
//
// pysnowflake, epoch 1987-06-10T00:00:00Z (550281600000 ms), as the Python pysnowflake server:
//
//	 63 62                                   22 21    18 17        10 9        0
//	+--+---------------------------------------+--------+------------+----------+
//	|0 |             time (41 bits)            | dc (4) | worker (8) | seq (10) |
//	+--+---------------------------------------+--------+------------+----------+
//	1,024 IDs per ms per worker; dc 0..15, worker 0..255;
//	2^41 ms ≈ 69.7 years: the time field runs out on 2057-02-13.
//
// pysnowflake-legacy, the epoch of pysnowflake, with fewer dc values and a longer sequence:
//
//	 63 62                                   22 21    20 19        12 11       0
//	+--+---------------------------------------+--------+------------+----------+
//	|0 |             time (41 bits)            | dc (2) | worker (8) | seq (12) |
//	+--+---------------------------------------+--------+------------+----------+
//	4,096 IDs per ms per worker; dc 0..3, worker 0..255;
//	2^41 ms ≈ 69.7 years: the time field runs out on 2057-02-13.
//
// twitter, epoch 2010-11-04T01:42:54.657Z (1288834974657 ms), as Twitter's Snowflake:
//
//	 63 62                                   22 21    17 16        12 11       0
//	+--+---------------------------------------+--------+------------+----------+
//	|0 |             time (41 bits)            | dc (5) | worker (5) | seq (12) |
//	+--+---------------------------------------+--------+------------+----------+
//	4,096 IDs per ms per worker; dc 0..31, worker 0..31;
//	2^41 ms ≈ 69.7 years: the time field runs out on 2080-07-10.
//
// js, epoch 2020-01-01T00:00:00Z, 53 bits: every ID it can ever issue is below 2^53, so a
// JavaScript number (and any JSON parser that reads numbers as doubles) holds it exactly:
//
//	 63      53 52                                  12 11       5 4       0
//	+----------+---------------------------------------+----------+---------+
//	|    0     |             time (41 bits)            | seq (7)  | gen (5) |
//	+----------+---------------------------------------+----------+---------+
//	128 IDs per ms per generator (128,000 per second); generators 0..31;
//	2^41 ms ≈ 69.7 years: the time field runs out on 2089-09-06; the largest ID is 2^53 - 1.
//
// # Shards
//
// Layouts whose lowest field is the node (snowfall, js) put every ID of a generator in one shard
// of id % N; layouts whose lowest field is the sequence (twitter, pysnowflake) put most IDs in
// shard 0 at request rates, since a tick's first ID has sequence 0. Partition by Layout.Shard
// (snowfall shard, and the SQL function snowfall sql generates) for any layout, or give a
// sequence-lowest layout a spread, so that id % N itself is even for N dividing the spread.
//
// Node values outside their field's range are errors that name the value and the range; they are
// never masked, since masking would make two nodes issue the same IDs.
//
// # Guarantees of a Generator
//
//   - Every ID that Next returns is greater than every ID the same Generator returned before, from
//     any number of goroutines; so IDs of one generator never repeat.
//   - A generator never issues more IDs in one tick than the sequence field allows: when a tick's
//     sequence runs out, Next waits for the next tick (counted as a sequence overload) — by sleeping
//     while the tick is far and yielding in a loop for the last stretch, so the wait neither
//     overshoots the tick by a timer's slack nor spins for much longer than a tick.
//   - When the clock goes backwards, the generator goes on in its last tick while that tick has
//     sequence left, then waits up to Settings.MaxBackwards (1 s by default) for the clock to catch
//     up, and past that returns a ClockBackwardsError saying how far behind the clock is. It never
//     issues an ID at or below one it issued.
//   - A high-water mark (Settings.After) keeps a new generator strictly above what an earlier one
//     with the same node values may have issued: restarts and lease takeovers rest on it, and so
//     do migrations from another generator (ParseFloor, LeaseSettings.After).
//   - A Permit (Grant) caps the time field at a durably recorded mark and lapses after a duration
//     measured on both the wall and the monotonic clock; both are checked on every call, so a
//     process that wakes from a long pause cannot issue with a lease it has lost.
//   - When the time field would overflow, Next returns ErrTimeOverflow: IDs never wrap.
//
// The generator is lock-free: Next loads the packed (tick, sequence) of the last ID, reads the clock
// and installs the next pair with one compare-and-swap. Waiting never holds a lock.
//
// # Leases
//
// A Leased generator takes its generator id from a manifest kept by an Assigner (memassign for the
// goroutines of one process, sqlassign for a database shared by many hosts), keeps it with
// heartbeats and gives it back on Close. What it guarantees: no two holders, on any hosts, ever
// issue the same ID, whatever their clocks do (skewed, stepped back or forward), however long a
// holder is paused (GC, SIGSTOP, a suspended VM), whatever the network does to the store's calls
// (delayed, reordered, cut after the commit), and however Close races calls in flight. Clocks and
// pauses cost availability (a holder refuses or waits), never uniqueness. The argument, step by step:
//
// Tenures. Each successful claim of a generator id starts a tenure: the row of that id gets a
// fresh random token, and every later write to the row by the holder (renewal, release) is
// conditioned on that token, checked by rows affected. A claim only succeeds on a row whose lease
// has expired by the store's clock (never a local clock compared across hosts) or that was
// released, and only if the row is still in the state the claimer read (Assigner.Free returns
// each free id with its mark and a version that every claim and release changes): the claim is a
// compare-and-swap of that state for the new token, atomic in the store. So the tenures of one id
// are totally ordered by the row's compare-and-swap, and once a tenure has been replaced none of
// its writes can succeed again, its claim included: a claim the network delivers a second time,
// or late, finds the version its own first delivery (or any tenure since) changed, and fails with
// ErrClaimConflict. Without that condition, a duplicated claim could put a replaced tenure's
// token back on the row after another tenure had held it, and that tenure's next renewal would
// succeed over the IDs issued in between (issue 18, defect 4).
//
// The high-water mark. The row also holds mark, a time: a ceiling for the holder, a floor for the
// next one.
//
//  1. Write ahead: before the keeper lets the generator issue up to a time T, it records
//     mark >= T in the row (in the claim, then in every renewal), and grants the generator a
//     Permit whose Until is the last mark whose write succeeded. The generator checks Until
//     inside every call with the tick it is about to issue, so no ID of a tenure has a tick above
//     a mark that was recorded while the tenure owned the row.
//  2. Marks only rise: every store writes a renewal's mark as max(stored, given) in the statement
//     itself, so a renewal delivered late (its client gave up, a later one went through on another
//     connection) cannot pull the mark under IDs the later permit allowed.
//  3. Floor: a claim is conditioned on the previous tenure's mark as Free read it, so the mark
//     it reports is the row's when the token was replaced, and the new generator issues only ticks
//     strictly above it (Settings.After).
//
// Every write of the old tenure is ordered before the claim (the row's compare-and-swap), and the
// claim reads the mark after them, so the ticks of successive tenures of an id are disjoint ranges.
// A taker whose clock is behind the mark waits, within MaxBackwards, for its clock to pass it, and
// gets ClockBackwardsError meanwhile; it never issues below it. Claims prefer ids whose mark is not
// ahead of the claimer's clock, and a claimer that gets only an id whose mark is further ahead than
// it waits out gives it back (mark unchanged) and reports ErrClockBackwards, so one host whose
// clock ran ahead cannot strand the next claimers while other ids are free.
//
// Self-fencing. Independently of the mark, a holder stops issuing before its lease could have
// expired in the store: a Permit starts at a Stamp read before the renewal was sent (the store
// computes the new expiry after that) and lasts Lease - Margin, measured as the larger of the
// wall-clock and the monotonic elapsed time (the monotonic clock stops while a machine is
// suspended), both read afresh on every call of a generator under such a permit (the cheap reading
// of SystemClock would hide a suspension for up to 10 ms after the machine wakes). A holder cut off
// from its store, paused or suspended therefore refuses (ErrFenced wrapping ErrLeaseLost) before
// another instance can claim its id. Fencing alone is not enough (a
// goroutine preempted between its checks and its compare-and-swap issues later than it checked; a
// store whose clock steps forward expires leases early), which is why the mark carries uniqueness.
// A renewal's ceiling, Start + Lease on the holder's clock, lies beyond every tick its permit can
// allow, and marks are whole milliseconds, which round down to the permit's last tick.
//
// Loss and release. A renewal that finds its token replaced revokes the generator, reports the
// loss on Lost (and to LeaseSettings.OnLost) and claims a new id. Close revokes the generator and
// then releases the id with the last tick it issued as the mark, so a successor need not wait for
// the ceiling. Generator.Revoke is a barrier, not a flag: it sets a bit in the word that every ID's
// compare-and-swap replaces, so a call in flight (permit checked, clock read, preempted for any
// time) either issued before the seal, and its tick is in the mark Close records, or fails its
// compare-and-swap and then sees the revocation. Neither clocks nor scheduling enter into it. A
// later Grant (Leased never grants a revoked generator; statefile grants after a start-up
// Revoke) does not re-open the barrier: it moves the word past the sealed one instead of clearing
// the bit, so a call that loaded the word before Revoke never wins its compare-and-swap.
// Every call to the store has a deadline (renewals and releases Lease - Margin, claims at least
// 10 s, the first read of the manifest 10 s), so a connection that drops packets silently costs
// one deadline, not minutes of TCP retries.
//
// Claims. The keeper reads a batch of free ids (Free, in the order Assigner documents: ids whose
// marks are not ahead of its clock first, from LeaseSettings.Start, wrapping) and claims the
// first; claims of one process that run at once start at different ids. After a conflict it tries
// one at random among the next few, more of them after each conflict, and reads again after a few
// conflicts, so that many claimers of many hosts that read the same ids spread over them.
//
// # What the store must provide
//
// The argument assumes that the store never loses a write it acknowledged, and that its
// transactions are serializable on one row (a conditional update sees the latest committed value).
// An Assigner of another store must give each row a version that changes with every claim and every
// release, return it from Free with the mark, and make Claim one atomic compare-and-swap of the
// row's version, mark and expiry against the token (an UPDATE … WHERE id = ? AND version = ? AND
// mark = ? AND expires < now whose rows affected it checks, or a transaction compared on
// revisions), never taking an id other than the one asked for; it must write the missing
// properties in one atomic write. This contract changed in issue 18 (Free was added, and Claim
// takes the id Free read instead of choosing one): assigners written against the earlier
// interface no longer compile, on purpose, since a Claim that chooses its id cannot be
// conditioned on a state its caller read.
// Concretely: SQLite with synchronous=FULL (sqlassign sets it; NORMAL under WAL can roll back
// acknowledged commits on power loss), PostgreSQL with synchronous_commit on (the default) and no
// failover to an asynchronous replica, MySQL/MariaDB with InnoDB, innodb_flush_log_at_trx_commit=1
// and, when replicated, failover only to a replica that has every acknowledged transaction
// (semi-synchronous or Galera-style replication, not plain asynchronous).
//
// If the store does lose acknowledged writes (power loss without durable commits, failover to a
// replica that lagged), a renewal's mark can roll back below IDs already issued, and a claim or a
// release can roll back too. A new holder of that id then starts from the older floor; if its clock
// is behind the IDs the old holder issued (or the old holder is still issuing under a permit the
// lost renewal granted), the two can issue the same IDs. Expiry judged by the new primary's clock is
// harmless by comparison (the mark, not the expiry, carries uniqueness). After such an event, the
// safe course is to stop every holder of the manifest for longer than the lease, or to raise every
// row's mark to a time past what any holder can have issued (for example now plus the lease plus
// the largest clock skew) before holders claim again: MarkRaiser, which every assigner of this
// module implements, and the command snowfall leases raise-marks do that.
//
// # Encodings
//
// ID.String is decimal; ID.Base32 (Crockford, 13 characters) and ID.Base58 (11 characters) are
// fixed-width and sort like the IDs. JSON encodes IDs as strings, since JavaScript numbers lose
// precision past 2^53, and decodes strings or numbers.
package snowfall
