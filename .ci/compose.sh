#!/usr/bin/env bash
# .ci/compose.sh IMAGE: runs compose.yaml for real with podman-compose 1.0.3 (Debian's), the
# Snowfall services on IMAGE (the image .ci/container.sh built from the Dockerfile, tagged as
# compose.yaml names it), PostgreSQL and Prometheus on the local stand-ins of .ci/compose-images.sh
# (.ci/compose.ci.yaml). It checks that the three servers lease distinct generator ids from the
# PostgreSQL service and serve IDs on their published ports, that Prometheus scrapes all three
# with the alerting rules loaded, and that podman-compose stop -t 20 makes each release its lease.
# Loopback ports 8911-8913 and 9090, as compose.yaml publishes them. No health check runs (podman
# runs them from systemd timers; there is no systemd here).
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:?usage: .ci/compose.sh IMAGE}
project="snowfall-ci-$$"
export CONTAINERS_CONF="${CONTAINERS_CONF:?set by .ci/container.sh}"
pm() { podman --runtime runc --cgroup-manager=cgroupfs "$@"; }
pc() { podman-compose --podman-args="--runtime runc --cgroup-manager=cgroupfs" -p "$project" -f compose.yaml -f .ci/compose.ci.yaml "$@"; }
fail() {
  echo "compose.sh: $*" >&2
  for c in $(pm ps -a --filter "label=io.podman.compose.project=$project" --format '{{.Names}}'); do
    echo "--- $c" >&2; pm logs "$c" 2>&1 | tail -20 >&2
  done
  exit 1
}
# podman-compose 1.0.3's down leaves the containers' anonymous volumes (the images' VOLUMEs) and the
# project's network: remove them by the project's label and name.
cleanup() {
  for c in $(pm ps -a -q --filter "label=io.podman.compose.project=$project"); do
    pm stop -t 20 "$c" >/dev/null 2>&1 || true
    pm rm -f -v "$c" >/dev/null 2>&1 || true
  done
  pm volume rm -f "${project}_postgres" >/dev/null 2>&1 || true
  pm network rm -f "${project}_default" >/dev/null 2>&1 || true
  pm rmi -f localhost/snowfall:compose >/dev/null 2>&1 || true
}
trap cleanup EXIT
t0=$(date +%s)
bash .ci/compose-images.sh
pm tag "$image" localhost/snowfall:compose
pc up -d >"$(mktemp)" 2>&1 || fail "podman-compose up failed"

# The servers: IDs on each published port, each with a lease of its own from the postgres service.
declare -A gens
for port in 8911 8912 8913; do
  ok=
  for _ in $(seq 1 300); do
    if stats=$(curl -fsS "http://127.0.0.1:$port/stats" 2>/dev/null) && [[ "$stats" == *'"state":"held"'* ]]; then ok=1; break; fi
    sleep 0.2
  done
  [ -n "$ok" ] || fail "no held lease on port $port after 60 s"
  id=$(curl -fsS "http://127.0.0.1:$port/") || fail "GET / on port $port failed"
  [[ "$id" =~ ^[0-9]+$ ]] || fail "port $port answered $id"
  gen=$(echo "$stats" | sed -n 's/.*"lease":{[^}]*"id":\([0-9]*\).*/\1/p')
  [ -n "$gen" ] || fail "no lease id in /stats on port $port: $stats"
  [ -z "${gens[$gen]:-}" ] || fail "ports ${gens[$gen]} and $port hold the same generator id $gen"
  gens[$gen]=$port
done
echo "compose.sh: three servers, generator ids ${!gens[*]}, IDs on 8911-8913"

# Prometheus: every Snowfall target up, the alerting rules loaded.
for _ in $(seq 1 120); do
  up=$(curl -fsS 'http://127.0.0.1:9090/api/v1/query?query=sum(up%7Bjob%3D%22snowfall%22%7D)' 2>/dev/null | sed -n 's/.*"value":\[[^,]*,"\([0-9]*\)"\].*/\1/p')
  [ "${up:-0}" = 3 ] && break
  sleep 0.5
done
[ "${up:-0}" = 3 ] || fail "Prometheus sees ${up:-no} Snowfall targets up, want 3"
rules=$(curl -fsS http://127.0.0.1:9090/api/v1/rules | grep -o '"type":"alerting"' | wc -l)
[ "$rules" -ge 8 ] || fail "Prometheus loaded $rules alerting rules, want 8"
echo "compose.sh: Prometheus scrapes 3 targets up, $rules alerting rules loaded"

# Stop with the grace podman-compose 1.0.3 needs on its command line; each server releases its id.
pc stop -t 20 >/dev/null 2>&1 || fail "podman-compose stop failed"
for n in 1 2 3; do
  c="${project}_snowfall-${n}_1"
  pm logs "$c" 2>&1 | grep -q '"msg":"lease released"' || fail "$c: no lease released after stop -t 20"
  [ "$(pm inspect --format '{{.State.ExitCode}}' "$c")" = 0 ] || fail "$c exited $(pm inspect --format '{{.State.ExitCode}}' "$c")"
done
echo "compose.sh: podman-compose stop -t 20: three leases released, exit 0; $(($(date +%s) - t0)) s"
