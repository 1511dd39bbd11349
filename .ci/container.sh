#!/usr/bin/env bash
# .ci/container.sh: builds the container image from the Dockerfile, both stages, without any
# registry, checks its size and contents, and runs it: start it with a volume, get IDs over HTTP,
# probe it from inside, stop it with SIGTERM (its STOPSIGNAL), and check that it exited 0 and
# released its lease (snowfall leases on the SQLite file in the volume, run from the same image, and
# the log line); then runs compose.yaml on it with podman-compose (.ci/compose.sh).
#
# The build stage starts FROM the Go image, which no registry here can provide: .ci/go-image.sh
# makes a local stand-in from the host's Go toolchain, tagged as the Dockerfile expects. Its RUN
# steps (go mod download, deploy/container/rootfs.sh) run in it unchanged; the host's module
# download cache is mounted read-only as the image's first GOPROXY, and the host's build cache as
# the container's GOCACHE, so nothing is fetched that the host has and a warm cache is reused.
# podman, buildah and runc come from Debian (.ci/deploy-deps.sh); crun fails here on rlimits and
# hybrid cgroups, hence --runtime runc, --cgroup-manager=cgroupfs and a containers.conf without
# default ulimits; podman runs health checks from systemd timers, and there is no systemd here, so
# the runs use --no-healthcheck and the script runs the probe itself (podman exec). Prints the
# image size and the time each part took.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
bash .ci/deploy-deps.sh >/dev/null

# The image's bound, stated in docs/operations.md (a deploy test checks that they agree).
max_mib=56

work=$(mktemp -d)
tag="localhost/snowfall:ci-$$"
vol="snowfall-ci-$$"
name="snowfall-ci-$$"
export CONTAINERS_CONF="$work/containers.conf"
printf '[containers]\ndefault_ulimits = []\n' >"$CONTAINERS_CONF"
pm() { podman --runtime runc --cgroup-manager=cgroupfs "$@"; }
cleanup() {
  pm rm -f "$name" >/dev/null 2>&1 || true
  pm volume rm -f "$vol" >/dev/null 2>&1 || true
  pm rmi -f "$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "container.sh: $*" >&2; pm logs "$name" >&2 2>/dev/null || true; exit 1; }
t0=$(date +%s)

# 1. The Go image, then the whole Dockerfile.
bash .ci/go-image.sh
t1=$(date +%s)
pm build --format docker --pull=never --layers=false -q -t "$tag" --build-arg VERSION=v0.0.0-ci \
  --volume "$(go env GOMODCACHE)/cache/download:/gomodcache:ro" --volume "$(go env GOCACHE):/root/.cache/go-build" . >/dev/null
size=$(pm image inspect --format '{{.Size}}' "$tag")
[ "$(pm image inspect --format '{{.Config.StopSignal}}' "$tag")" = SIGTERM ] || fail "the image's stop signal is not SIGTERM"
pm image inspect --format '{{.Config.Healthcheck.Test}}' "$tag" | grep -q 'snowfall probe' || fail "the image has no snowfall probe health check"
t2=$(date +%s)

# 2. Its size and contents: every file and directory, with its type, mode and owner, is one of
# these; nothing else (a shell, a package manager, a leftover of the build) is in the image.
[ "$size" -le $((max_mib * 1048576)) ] || fail "the image is $((size / 1048576)) MiB, above the bound of $max_mib MiB (docs/operations.md)"
mnt=$(pm image mount "$tag")
(cd "$mnt" && find . -mindepth 1 -printf '%y %m %u:%g %p\n' | LC_ALL=C sort -k4) >"$work/contents"
pm image unmount "$tag" >/dev/null
cat >"$work/want" <<'LIST'
d 755 root:root ./etc
d 755 root:root ./etc/ssl
d 755 root:root ./etc/ssl/certs
f 644 root:root ./etc/ssl/certs/ca-certificates.crt
d 755 root:root ./usr
d 755 root:root ./usr/local
d 755 root:root ./usr/local/bin
f 755 root:root ./usr/local/bin/snowfall
f 755 root:root ./usr/local/bin/snowflake_start_server
d 755 65532:65532 ./var
d 755 65532:65532 ./var/lib
d 755 65532:65532 ./var/lib/snowfall
LIST
diff -u "$work/want" "$work/contents" >&2 || fail "the image's contents differ from the list above (- expected, + found)"
echo "container.sh: image $tag: $((size / 1024)) KiB (bound $max_mib MiB), $(wc -l <"$work/contents") entries as listed"

# 2. Run it: all interfaces inside, published on a loopback port of podman's choice.
pm volume create "$vol" >/dev/null
pm run --no-healthcheck -d --name "$name" -p 127.0.0.1::8910 -v "$vol:/var/lib/snowfall" --stop-timeout 20 "$tag" >/dev/null
port=$(pm port "$name" 8910/tcp | sed 's/.*://')
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if curl -fsS "$url/healthz" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
a=$(curl -fsS "$url/") || fail "GET / failed"
ids=$(curl -fsS "$url/ids?n=3") || fail "GET /ids failed"
b=$(echo "$ids" | tail -1)
[[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ ]] || fail "IDs $a / $ids are not numbers"
[ "$b" -gt "$a" ] || fail "IDs not increasing: $a then $b"
[ "$(echo "$ids" | sort -u | wc -l)" = 3 ] || fail "/ids?n=3 gave $ids"
pm exec "$name" snowfall probe --server http://127.0.0.1:8910 /healthz >/dev/null || fail "snowfall probe inside the container failed"
[ "$(pm inspect --format '{{.Config.User}}' "$name")" = "65532:65532" ] || fail "the container does not run as 65532:65532"
held=$(pm run --no-healthcheck --rm -v "$vol:/var/lib/snowfall" "$tag" leases --db sqlite:///var/lib/snowfall/leases.db 2>&1 >/dev/null)
[ "$held" = "1 generator ids held" ] || fail "while serving: leases says '$held', want 1 held"
echo "container.sh: IDs $a … $b from $url; snowfall probe inside OK; lease held"

# 3. Stop with SIGTERM (STOPSIGNAL) and check the exit and the released lease.
ts=$(date +%s%N)
pm stop -t 20 "$name" >/dev/null
stop_ms=$((($(date +%s%N) - ts) / 1000000))
code=$(pm inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "exit code $code after SIGTERM, want 0"
pm logs "$name" 2>&1 | grep -q 'msg="lease released"' || fail "no 'lease released' log line"
held=$(pm run --no-healthcheck --rm -v "$vol:/var/lib/snowfall" "$tag" leases --db sqlite:///var/lib/snowfall/leases.db 2>&1 >/dev/null)
[ "$held" = "0 generator ids held" ] || fail "after SIGTERM: leases says '$held', want 0 held"
echo "container.sh: stopped by SIGTERM in ${stop_ms} ms, exit 0, lease released"

# 4. compose.yaml with podman-compose, on this image.
bash .ci/compose.sh "$tag"
t3=$(date +%s)
echo "container.sh: image $tag $((size / 1024)) KiB; Go image $((t1 - t0)) s, Dockerfile build $((t2 - t1)) s, checks, run and compose $((t3 - t2)) s"
