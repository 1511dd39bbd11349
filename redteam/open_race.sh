#!/bin/bash
# F-A: a SQLite lease file replaced while a server is inside Open. The server's pool keeps the
# connection it opened on the old file, while holdFile records the identity of the new file at
# the path: its checks pass for good, it renews on the old file, and a server started later on
# the path leases the same generator id from the new file. Duplicates never end.
# Usage: redteam/open_race.sh [snowfall-binary]
set -u
BIN=${1:-/tmp/sqlite4/rt/snowfall}
W=$(mktemp -d /tmp/sqlite4/rt/openrace.XXXX)
P=$W/leases.db
PA=28101; PB=28102
cleanup() { for p in ${PIDS:-}; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
"$BIN" schema create --db "sqlite://$P" --probe 1s >/dev/null 2>&1 || { echo "schema create failed"; exit 1; }
python3 "$(dirname "$0")/open_race_swap.py" "$P" "$W/ready" > "$W/swap.log" 2>&1 &
SW=$!
while [ ! -e "$W/ready" ]; do sleep 0.01; done
"$BIN" serve --port $PA --db "sqlite://$P" --exit-on-start-failure > "$W/a.log" 2>&1 &
A=$!; PIDS="$A"
wait $SW; echo "swapper: $(cat "$W/swap.log" | tr '\n' ' ')"
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$PA/readyz" >/dev/null && break; sleep 0.1; done
"$BIN" serve --port $PB --db "sqlite://$P" --exit-on-start-failure > "$W/b.log" 2>&1 &
B=$!; PIDS="$A $B"
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$PB/readyz" >/dev/null && break; sleep 0.1; done
grep -h "lease acquired" "$W/a.log" "$W/b.log" | sed 's/^/  /'
: > "$W/ids.a"; : > "$W/ids.b"
end=$((SECONDS + 6))
while [ $SECONDS -lt $end ]; do
  curl -s "http://127.0.0.1:$PA/ids?n=1000" >> "$W/ids.a" & C=$!
  curl -s "http://127.0.0.1:$PB/ids?n=1000" >> "$W/ids.b"
  wait $C
done
echo "A issued $(grep -c . "$W/ids.a"), B issued $(grep -c . "$W/ids.b")"
echo "A still answering after 6 s (probe 1 s): $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PA/ids?n=1")"
echo "common IDs: $(sort "$W/ids.a" "$W/ids.b" | uniq -d | wc -l)"
grep -h -i "lost\|replaced\|fence" "$W/a.log" | head -3
sleep ${HOLD:-20}
echo "after $((6 + ${HOLD:-20})) s: A answers $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PA/ids?n=1"), B answers $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PB/ids?n=1")"
echo "leases in the old file (moved away):"; sqlite3 "$W/old/leases.db" "SELECT generator, pid, expires_ms > strftime('%s','now')*1000 FROM snowfall_manifest WHERE token <> ''" | sed 's/^/  /'
echo "leases in the file at the path:"; sqlite3 "$P" "SELECT generator, pid, expires_ms > strftime('%s','now')*1000 FROM snowfall_manifest WHERE token <> ''" | sed 's/^/  /'
echo "server pids: A=$A B=$B"
echo "work dir: $W"
