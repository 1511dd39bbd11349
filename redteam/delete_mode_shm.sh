#!/bin/bash
# F-E: a holder that opened its SQLite file in a rollback-journal mode (a URL with
# _journal_mode=delete, accepted as durable) records no -wal/-shm identity (identity.go
# holdFile: only when the mode is WAL). Any later default connection (another server, snowfall
# leases) turns the file to WAL, and the holder's connections follow; the red team's F2 (-shm
# deleted while servers run) then no longer fences it.
# Observed (one run): A kept answering 200 after the -shm deletion while B fenced; the servers
# started after it then found the file corrupt (SQLITE_CORRUPT): no common IDs in that run.
# Usage: redteam/delete_mode_shm.sh [snowfall-binary]
set -u
BIN=${1:-/tmp/sqlite4/rt/snowfall}
W=$(mktemp -d /tmp/sqlite4/rt/delshm.XXXX)
P=$W/leases.db; PA=28151; PB=28152; PC=28153
cleanup() { for p in ${PIDS:-}; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
"$BIN" serve --port $PA --db "sqlite://$P?_journal_mode=delete" --probe 1s --exit-on-start-failure > "$W/a.log" 2>&1 &
A=$!; PIDS="$A"
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$PA/readyz" >/dev/null && break; sleep 0.05; done
"$BIN" serve --port $PB --db "sqlite://$P" --probe 1s --exit-on-start-failure > "$W/b.log" 2>&1 &   # default URL: WAL
PIDS="$PIDS $!"
sleep 3   # A's connections follow the file into WAL mode at their next transaction
echo "journal mode now: $(sqlite3 "$P" 'PRAGMA journal_mode')"; ls "$W" | sed 's/^/  /'
rm -f "$P-shm"                                          # the F2 mistake
sleep 3                                                  # three probes: a WAL-mode holder (B) fences here
echo "after the -shm deletion: A answers $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PA/ids?n=1"), B $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PB/ids?n=1")"
"$BIN" serve --port $PC --db "sqlite://$P" --probe 1s --exit-on-start-failure > "$W/c.log" 2>&1 &
PIDS="$PIDS $!"
sleep 4
PD=28154
"$BIN" serve --port $PD --db "sqlite://$P" --probe 1s --exit-on-start-failure > "$W/d.log" 2>&1 &
PIDS="$PIDS $!"
sleep 2
: > "$W/ids.a"; : > "$W/ids.o"
end=$((SECONDS + ${RUN:-12}))
while [ $SECONDS -lt $end ]; do
  curl -s "http://127.0.0.1:$PA/ids?n=1000" >> "$W/ids.a" & C=$!
  curl -s "http://127.0.0.1:$PC/ids?n=1000" >> "$W/ids.o"
  curl -s "http://127.0.0.1:$PD/ids?n=1000" >> "$W/ids.o"
  wait $C
done
echo "A issued $(grep -c . "$W/ids.a"), C+D $(grep -c . "$W/ids.o"), common IDs: $(sort "$W/ids.a" "$W/ids.o" | uniq -d | wc -l)"
grep -h '"lease acquired\|lease lost' "$W"/*.log | cut -c1-200 | sed 's/^/  /'
echo "work dir: $W"
