#!/usr/bin/env bash
# Makes sure the three-member etcd cluster the tests use is up, installing Debian's etcd-server and
# etcd-client when missing. Idempotent: a healthy cluster is left running, a stopped member is
# started again on its data dir.
#   members s1 s2 s3: clients 127.0.0.1:23791-23793, peers 127.0.0.1:23801-23803
#   data dirs and logs under $SNOWFALL_ETCD_DIR (default ${TMPDIR:-/tmp}/snowfall-etcd)
# Tests find it through SNOWFALL_TEST_ETCD (default 127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793).
# Exits non-zero, loudly, when the cluster cannot be brought up.
set -euo pipefail

die() { echo "etcd.sh: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

dir="${SNOWFALL_ETCD_DIR:-${TMPDIR:-/tmp}/snowfall-etcd}"
endpoints=127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793
cluster=s1=http://127.0.0.1:23801,s2=http://127.0.0.1:23802,s3=http://127.0.0.1:23803

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
  echo "etcd.sh: installing etcd-server and etcd-client"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q etcd-server etcd-client \
    || die "apt-get install etcd-server etcd-client failed"
fi

ctl() { ETCDCTL_API=3 etcdctl --dial-timeout=2s --command-timeout=3s "$@"; }
member_up() { ctl --endpoints="127.0.0.1:2379$1" endpoint health >/dev/null 2>&1; }
cluster_up() { ctl --endpoints="$endpoints" endpoint health >/dev/null 2>&1; }

start_member() { # n
  local n=$1
  mkdir -p "$dir"
  # setsid: the member outlives this script and the shell that ran it.
  setsid etcd --name "s$n" --data-dir "$dir/s$n" \
    --listen-client-urls "http://127.0.0.1:2379$n" --advertise-client-urls "http://127.0.0.1:2379$n" \
    --listen-peer-urls "http://127.0.0.1:2380$n" --initial-advertise-peer-urls "http://127.0.0.1:2380$n" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token snowfall-test \
    --heartbeat-interval 100 --election-timeout 1000 --log-level warn \
    >>"$dir/s$n.log" 2>&1 </dev/null &
}

if cluster_up && member_up 1 && member_up 2 && member_up 3; then
  echo "etcd.sh: etcd cluster already up at $endpoints"
  exit 0
fi

for n in 1 2 3; do
  if ! member_up "$n" && ! pgrep -f -- "--data-dir $dir/s$n " >/dev/null; then
    echo "etcd.sh: starting member s$n (data dir $dir/s$n)"
    start_member "$n"
  fi
done

for _ in $(seq 1 60); do
  if cluster_up && member_up 1 && member_up 2 && member_up 3; then
    echo "etcd.sh: etcd cluster up at $endpoints"
    exit 0
  fi
  sleep 1
done
for n in 1 2 3; do
  echo "--- $dir/s$n.log (tail)" >&2
  tail -20 "$dir/s$n.log" >&2 || true
done
die "the etcd cluster at $endpoints is not healthy after 60 s"
