#!/bin/bash
# F-B: the per-renewal URL check (identity.go sameByURL) treats "cannot open the URL now" as "no
# difference". A holder whose --db URL reaches its file through a symlinked directory that is
# re-pointed to a directory the holder's user cannot enter never fences, and renews on its old
# file for good, while a server of another user (an operator's sudo) started on the same URL leases
# the same generator id from the new file. The doc (operations.md) bounds the harm of a re-point
# to one probe interval; here it has no bound.
# Usage: redteam/url_check_fails_open.sh [snowfall-binary]   (run as root; uses user nobody)
set -u
BIN=${1:-/tmp/sqlite4/rt/snowfall}
W=$(mktemp -d /tmp/sqlite4/rt/failopen.XXXX); chmod 755 "$W"
PA=28111; PB=28112
cleanup() { for p in ${PIDS:-}; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
mkdir "$W/v1" "$W/v2"; chown nobody "$W/v1"; chmod 700 "$W/v2"   # v2: root's only
ln -s v1 "$W/current"
URL="sqlite://$W/current/leases.db"
runuser -u nobody -- "$BIN" serve --port $PA --db "$URL" --probe 1s --exit-on-start-failure > "$W/a.log" 2>&1 &
A=$!; PIDS="$A"
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$PA/readyz" >/dev/null && break; sleep 0.1; done
ln -s v2 "$W/current.new" && mv -T "$W/current.new" "$W/current"      # re-point, as ln -sfn does
sleep 3   # three probes: the holder would have fenced by now if its check saw the change
"$BIN" serve --port $PB --db "$URL" --probe 1s --exit-on-start-failure > "$W/b.log" 2>&1 &
B=$!; PIDS="$A $B"
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$PB/readyz" >/dev/null && break; sleep 0.1; done
grep -h '"lease acquired' "$W/a.log" "$W/b.log" | sed 's/^/  /'
: > "$W/ids.a"; : > "$W/ids.b"
end=$((SECONDS + 6))
while [ $SECONDS -lt $end ]; do
  curl -s "http://127.0.0.1:$PA/ids?n=1000" >> "$W/ids.a" & C=$!
  curl -s "http://127.0.0.1:$PB/ids?n=1000" >> "$W/ids.b"
  wait $C
done
echo "A issued $(grep -c . "$W/ids.a"), B issued $(grep -c . "$W/ids.b"), common IDs: $(sort "$W/ids.a" "$W/ids.b" | uniq -d | wc -l)"
echo "A answers $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PA/ids?n=1") $((SECONDS)) s after the re-point+"
grep -h -i "lost\|replaced\|fence" "$W/a.log" | head -3
echo "work dir: $W"
