// Package aliases searches configuration space for two snowfall serve processes that reach one
// real resource through different spellings, and checks that they never issue the same IDs.
//
// Uniqueness rests on resources that servers share: a state file (one process per file) and a
// lease store (one holder per generator id). A guard that recognises a spelling of a dangerous
// configuration can always be passed by one more spelling (issue 18: ".." after a symbolic link to
// a directory, a relative symbolic link, a hard link made at the wrong moment, ":memory:" escaped
// as "%3Amemory%3A"). This search generates the spellings instead of listing them.
//
// # Cases
//
// A seed decides a case (NewCase): a kind, two server configurations, and the files they need,
// made under the case's own directory. The kinds:
//
//   - statefile: --generator N --state-file PATH, the path spelled twice: absolute or relative to
//     one of the case's directories (the server's working directory), through "." and doubled
//     separators, symbolic links to directories (absolute or relative targets, themselves spelled
//     through links and ".."), detours into a link and back out through ".." (which the kernel
//     resolves from the link's target), symbolic links to the file and chains of them, a hard
//     link made while the first server runs, and, where unshare -m works, a bind mount of the
//     file's directory or of the file itself in the second server's own mount namespace.
//   - sqlite: --db sqlite:… naming one file in such spellings, with the scheme's case and name,
//     "//" or not, percent-escapes in the path (SQLite decodes them), and query parameters, mostly
//     harmless (cache, mode=rwc, pragmas), sometimes not (nolock=1, vfs=unix-none, vfs=memdb,
//     mode=memory, immutable=1, mode=ro), escaped or not.
//   - local: one SQLite spelling of a database no other process shares, given to both servers:
//     ":memory:" with any of its bytes percent-escaped, an empty file name (a temporary database:
//     "%00", "#"), a file name with mode=memory or vfs=memdb, escaped.
//   - postgres: the test database as a URL or a keyword DSN, with the scheme's case, host
//     (127.0.0.1, localhost in any case, the unix socket), explicit or default port, escaped user
//     and database names, and parameters, harmless or session-local (a search_path with pg_temp
//     first). Every server's environment names a decoy database in PGHOST, PGUSER and PGDATABASE
//     (the server's maintenance database, "postgres"), so that a spelling the driver would read
//     as "use the defaults" reaches a store of its own and shows.
//   - mysql: the test database with the scheme's name and case (mysql:, mariadb:), host
//     (127.0.0.1, localhost, the unix socket), default or explicit port, escaped names, and
//     parameters (autocommit=0 keeps every write in a transaction no other session sees).
//
// In half of the state file cases that are not restarts, the file moves while A runs, before B
// starts on the path (Case.Move): it is renamed away (in its directory or into another),
// deleted, or replaced by an empty file or by a copy of itself taken a few marks earlier. B then
// holds another file than A and both may run with one generator id: the case fails when they
// share an ID or A issues an ID not below B's first (A must stop at its recorded mark, B start
// above anything A may still issue). The move is drawn from a generator of its own, so the other
// cases of a seed are what they were before moves existed.
//
// A third of the cases are restarts: the first server issues and stops, and the second starts
// with its clock set back to the first's first ID, so that a floor it did not read shows as
// shared IDs.
//
// # The rule
//
// Run starts the first server and then the second (the real binary, built once), pulls IDs from
// both at once (3 batches of 5,000 each), and asks /stats for their generator ids. A case passes
// when either server refuses to start or cannot issue, or the two hold different generator ids and
// share no ID. It fails when both issue with one generator id, or share an ID, or a restarted
// server issues below the first's IDs on its generator id.
//
// # Running it
//
//	go test ./internal/testkit/aliases                                   # 30 cases, part of go test ./...
//	SNOWFALL_ALIASES_DURATION=20m go test -timeout 0 ./internal/testkit/aliases -v   # a long search
//	SNOWFALL_ALIASES_CASES=500 go test -timeout 0 ./internal/testkit/aliases -v      # or a number of cases
//	SNOWFALL_ALIASES_FIRST=1000 go test ./internal/testkit/aliases        # other seeds
//	SNOWFALL_ALIASES_SEED=17 go test -run '^TestAliases$' ./internal/testkit/aliases -v   # replay one case
//	go test -tags aliasproof -run TestFindsShippedDefects ./internal/testkit/aliases -v
//	go test -tags aliasproof -run TestFindsMovedDefect ./internal/testkit/aliases -v
//
// It prints one summary line (and appends it to $SNOWFALL_FLEET_SUMMARY, which .ci/run prints):
//
//	aliases: cases=30 refused=… distinct_ids=… shared_ids=0
//
// refused counts the cases in which a server refused or could not issue, distinct_ids the IDs
// pulled, and shared_ids the IDs both servers of a case issued. A failing case prints its seed, the
// two command lines, the links it made, and the command that replays it.
//
// The last command proves that the search can see: it builds snowfall with go build -overlay, the
// files of testdata/shipped in place of their namesakes (the statefile package as shipped before
// issue 18, and a sqlassign guard that refuses process-local SQLite by spelling, as serve did),
// and asserts that the CI-sized search finds defects 1 and 3 (move cases aside). The last one
// builds it with testdata/moved, the statefile source of bd8de23 (a start on a moved state file
// issued at once from its clock; a server resumed when its file came back), and asserts that the
// search finds a move case that breaks the rule. No switch in production code puts them back.
package aliases
