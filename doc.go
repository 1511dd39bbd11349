// Package snowfall generates 64-bit, time-sortable unique IDs (Snowflake-style), at the speed limit
// of their layout, and never issues the same ID twice.
//
// # Layouts
//
// An ID is a non-negative int64: a zero sign bit, then fields from the highest bits to the lowest.
// The time field always comes first, so IDs sort by the time they were made (k-sorted: IDs of one
// tick from different generators interleave). A Layout is data: four presets, or custom fields
// (ParseLayout("time=41,dc=5,worker=5,seq=12"), with an optional unit=10ms), each with its epoch.
//
// snowfall (the default), epoch 2020-01-01T00:00:00Z, 1 ms ticks:
//
//	 63 62                                   23 22        11 10         0
//	+--+---------------------------------------+------------+------------+
//	|0 |           time (40 bits)              |  seq (12)  |  gen (11)  |
//	+--+---------------------------------------+------------+------------+
//	4,096 IDs per ms per generator; generators 0..2047;
//	2^40 ms ≈ 34.8 years: the time field runs out on 2054-11-03.
//
// pysnowflake, epoch 550281600000 ms (1987-06-10), 1 ms ticks, as the Python pysnowflake server:
//
//	+--+-----------------------------------------+------+----------+-----------+
//	|0 |             time (41 bits)              |dc (4)|worker (8)| seq (10)  |
//	+--+-----------------------------------------+------+----------+-----------+
//	1,024 IDs per ms per worker; dc 0..15, worker 0..255; 2^41 ms ≈ 69.7 years: until 2057-02-13.
//
// pysnowflake-legacy: time 41 | dc 2 | worker 8 | seq 12, the same epoch: 4,096 IDs per ms; dc 0..3,
// worker 0..255; until 2057.
//
// twitter, epoch 1288834974657 ms (2010-11-04T01:42:54.657Z): time 41 | dc 5 | worker 5 | seq 12:
// 4,096 IDs per ms; dc 0..31, worker 0..31; until 2080.
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
//     with the same node values may have issued: restarts and lease takeovers rest on it.
//   - A Permit (Grant) caps the time field at a durably recorded mark and lapses after a duration
//     measured on both the wall and the monotonic clock; both are checked on every call, so a
//     process that wakes from a long pause cannot issue with a lease it has lost.
//   - When the time field would overflow, Next returns ErrTimeOverflow: IDs never wrap.
//
// The generator is lock-free: Next loads the packed (tick, sequence) of the last ID, reads the clock
// and installs the next pair with one compare-and-swap. Waiting never holds a lock.
//
// # Encodings
//
// ID.String is decimal; ID.Base32 (Crockford, 13 characters) and ID.Base58 (11 characters) are
// fixed-width and sort like the IDs. JSON encodes IDs as strings, since JavaScript numbers lose
// precision past 2^53, and decodes strings or numbers.
package snowfall
