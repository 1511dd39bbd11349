#!/usr/bin/env bash
# bench/server.sh: loads `snowfall serve` and a bare net/http handler returning a constant (bench/bare)
# on 127.0.0.1 with wrk, the same settings for both, one server at a time, and prints a table:
#   GET /           requests/s, p50 and p99 latency of both, and their ratio (goal >= 0.8)
#   GET /ids?n=4096 IDs/s divided by the layout's limit, 4.096 M IDs/s (goal >= 0.9)
#   SOAK=60         optional: GET / at saturation for 60 s, errors and resident memory start and end
# Settings (environment): DURATION (10s), THREADS (2), CONNS (64), IDS_CONNS (8), ROUNDS (3),
# SOAK (0 = off).
# wrk comes from Debian (installed with apt-get when missing). Everything stays on loopback and
# every server it starts is stopped when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-64}"
IDS_CONNS="${IDS_CONNS:-8}"
SOAK="${SOAK:-0}"
ROUNDS="${ROUNDS:-3}"

if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

tmp=$(mktemp -d)
pid="" bare_pid="" sf_pid=""
stop_all() { for p in $pid $bare_pid $sf_pid; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap 'stop_all; rm -rf "$tmp"' EXIT

echo "building…" >&2
go build -o "$tmp/snowfall" ./cmd/snowfall
go build -o "$tmp/bare" ./bench/bare

# start NAME CMD... starts a server in the background, waits for its "listening on" line, sets pid and url.
start() {
  local name=$1; shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  for _ in $(seq 100); do
    url=$(sed -n 's#^listening on \(http://[^ ]*\)$#\1#p' "$tmp/$name.out")
    [ -n "$url" ] && return 0
    sleep 0.05
  done
  echo "$name did not start:" >&2; cat "$tmp/$name.err" >&2; exit 1
}

# load OUT URL CONNS DURATION runs wrk and keeps its report.
load() {
  wrk -t "$THREADS" -c "$3" -d "$4" --latency "$2" >"$1"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
# pct FILE 50% prints that latency percentile in microseconds.
pct() {
  awk -v p="$2" '$1 == p {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1000000; else f = 0.001
    printf "%.0f", v * f }' "$1"
}
errors() {
  awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$1"
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# Both servers run side by side and are loaded in turn, ROUNDS times; the table shows the round with
# the median requests/s of each load, so that a burst of other work on the host skews one round only.
start bare "$tmp/bare"
bare_pid=$pid bare_url=$url pid=""
start snowfall "$tmp/snowfall" serve --host 127.0.0.1 --port 0 --generator 1
sf_pid=$pid sf_url=$url pid=""
load "$tmp/warm" "$bare_url/" "$CONNS" 2s
load "$tmp/warm" "$sf_url/" "$CONNS" 2s
for r in $(seq "$ROUNDS"); do
  echo "round $r of $ROUNDS…" >&2
  load "$tmp/bare.$r" "$bare_url/" "$CONNS" "$DURATION"
  load "$tmp/id.$r" "$sf_url/" "$CONNS" "$DURATION"
  load "$tmp/ids.$r" "$sf_url/ids?n=4096" "$IDS_CONNS" "$DURATION"
done
# median NAME prints the report file of the median round of that load.
median() {
  for r in $(seq "$ROUNDS"); do echo "$(rps "$tmp/$1.$r") $tmp/$1.$r"; done | sort -n | awk '{a[NR] = $2} END {print a[int((NR + 1) / 2)]}'
}
cp "$(median bare)" "$tmp/bare.wrk"; cp "$(median id)" "$tmp/id.wrk"; cp "$(median ids)" "$tmp/ids.wrk"
if [ "$SOAK" -gt 0 ]; then
  echo "soaking for ${SOAK}s…" >&2
  rss0=$(rss_kb "$sf_pid")
  load "$tmp/soak.wrk" "$sf_url/" "$CONNS" "${SOAK}s"
  rss1=$(rss_kb "$sf_pid")
fi
stop_all

bare_rps=$(rps "$tmp/bare.wrk"); id_rps=$(rps "$tmp/id.wrk"); ids_rps=$(rps "$tmp/ids.wrk")
cpus=$(nproc)
printf '\nHTTP ID server on 127.0.0.1, wrk -t%s -c%s -d%s (/ids: -c%s), median of %s rounds, %s CPUs shared by servers and wrk\n\n' \
  "$THREADS" "$CONNS" "$DURATION" "$IDS_CONNS" "$ROUNDS" "$cpus"
printf '| %-28s | %12s | %9s | %9s | %-22s |\n' "load" "req/s" "p50 µs" "p99 µs" "ratio"
printf '|%s|%s|%s|%s|%s|\n' "------------------------------" "--------------" "-----------" "-----------" "------------------------"
printf '| %-28s | %12.0f | %9s | %9s | %-22s |\n' "bare handler GET /" "$bare_rps" "$(pct "$tmp/bare.wrk" 50%)" "$(pct "$tmp/bare.wrk" 99%)" "1.00"
printf '| %-28s | %12.0f | %9s | %9s | %-22s |\n' "snowfall serve GET /" "$id_rps" "$(pct "$tmp/id.wrk" 50%)" "$(pct "$tmp/id.wrk" 99%)" \
  "$(awk -v a="$id_rps" -v b="$bare_rps" 'BEGIN {printf "%.2f of bare (goal 0.8)", a / b}')"
printf '| %-28s | %12.0f | %9s | %9s | %-22s |\n' "snowfall serve /ids?n=4096" "$ids_rps" "$(pct "$tmp/ids.wrk" 50%)" "$(pct "$tmp/ids.wrk" 99%)" \
  "$(awk -v r="$ids_rps" 'BEGIN {printf "%.2f of 4.096M IDs/s (goal 0.9)", r * 4096 / 4096000}')"
printf '\n/ids: %.2f M IDs/s. Errors (non-2xx and socket): bare %s, GET / %s, /ids %s\n' \
  "$(awk -v r="$ids_rps" 'BEGIN {print r * 4096 / 1e6}')" "$(errors "$tmp/bare.wrk")" "$(errors "$tmp/id.wrk")" "$(errors "$tmp/ids.wrk")"
if [ "$SOAK" -gt 0 ]; then
  printf 'soak %ss GET /: %.0f req/s, %s errors, RSS %s kB at start, %s kB at end\n' \
    "$SOAK" "$(rps "$tmp/soak.wrk")" "$(errors "$tmp/soak.wrk")" "$rss0" "$rss1"
fi
