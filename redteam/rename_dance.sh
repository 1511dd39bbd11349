#!/bin/bash
# F-C: two names for one SQLite lease file, each with a write-ahead log of its own, by a rename
# dance between two renewals of the holder. The one-name check (hard links) runs only at Open, and
# the holder's per-renewal check only asks whether its path, -wal and -shm still name its files:
#   A holds D/leases.db.  mv leases.db other.db  (one name: other.db)
#   B starts on other.db (one link: accepted; SQLite names B's log other.db-wal, so B does not
#     see A's log, and finds no lease, or no tables at all, in the main file)
#   ln other.db leases.db  (A's path names its file again before A's next renewal: A never fences)
# Both lease generator 0 for good.  Usage: redteam/rename_dance.sh [snowfall-binary]
set -u
BIN=${1:-/tmp/sqlite4/rt/snowfall}
W=$(mktemp -d /tmp/sqlite4/rt/dance.XXXX)
PA=28121; PB=28122
cleanup() { for p in ${PIDS:-}; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
"$BIN" serve --port $PA --db "sqlite://$W/leases.db" --exit-on-start-failure > "$W/a.log" 2>&1 &
A=$!; PIDS="$A"
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$PA/readyz" >/dev/null && break; sleep 0.05; done
# A renews every 5 s (the default probe) from its claim: the dance fits in between.
mv "$W/leases.db" "$W/other.db"
"$BIN" serve --port $PB --db "sqlite://$W/other.db" --exit-on-start-failure > "$W/b.log" 2>&1 &
B=$!; PIDS="$A $B"
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$PB/readyz" >/dev/null && break; sleep 0.05; done
ln "$W/other.db" "$W/leases.db"
ls -li "$W" | sed 's/^/  /'
grep -h '"lease acquired' "$W/a.log" "$W/b.log" | sed 's/^/  /'
: > "$W/ids.a"; : > "$W/ids.b"
end=$((SECONDS + ${RUN:-15}))
while [ $SECONDS -lt $end ]; do
  curl -s "http://127.0.0.1:$PA/ids?n=1000" >> "$W/ids.a" & C=$!
  curl -s "http://127.0.0.1:$PB/ids?n=1000" >> "$W/ids.b"
  wait $C
done
echo "A issued $(grep -c . "$W/ids.a"), B issued $(grep -c . "$W/ids.b"), common IDs: $(sort "$W/ids.a" "$W/ids.b" | uniq -d | wc -l)"
echo "after ${RUN:-15} s: A answers $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PA/ids?n=1"), B answers $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PB/ids?n=1")"
grep -h -i "lost\|replaced\|fence\|renewal failed" "$W/a.log" "$W/b.log" | head -4
echo "work dir: $W"
