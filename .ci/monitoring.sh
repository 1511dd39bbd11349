#!/usr/bin/env bash
# .ci/monitoring.sh: checks the monitoring kit with Debian's promtool: the alerting rules
# (promtool check rules), the compose recipe's Prometheus configuration (promtool check config),
# and the live /metrics output of a running snowfall serve (promtool check metrics). Loopback only.
# deploy/prometheus_test.go runs a real Prometheus against a server.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
bash .ci/deploy-deps.sh >/dev/null

promtool check rules deploy/monitoring/alerts.yml
promtool check config deploy/monitoring/prometheus.yml

work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT
go build -o "$work/snowfall" ./cmd/snowfall
"$work/snowfall" serve --host 127.0.0.1 --port 0 --db "sqlite://$work/leases.db" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/out")
[ -n "$url" ] || { cat "$work/err"; echo "monitoring.sh: the server did not start" >&2; exit 1; }
curl -fsS "$url/" >/dev/null
curl -fsS "$url/metrics" >"$work/metrics"
for m in snowfall_ids_issued_total snowfall_fenced snowfall_lease_expiry_seconds snowfall_layout_remaining_seconds snowfall_info; do
  grep -q "^$m" "$work/metrics" || { echo "monitoring.sh: /metrics lacks $m" >&2; exit 1; }
done
echo "promtool check metrics on $url/metrics ($(grep -c '^snowfall_' "$work/metrics") snowfall samples):"
promtool check metrics <"$work/metrics"
echo "monitoring.sh: rules, config and live metrics pass promtool"
