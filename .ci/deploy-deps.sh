#!/usr/bin/env bash
# Installs what the deploy and monitoring checks need, from Debian packages: podman, buildah and
# runc (the container image, built from the Dockerfile with a local Go base image), podman-compose
# and docker-compose 1.29 (compose.yaml under both Compose v1 and podman-compose), prometheus and
# promtool (the rules, their unit tests, /metrics and scrape checks; also the Prometheus of the
# compose run), and systemd's
# systemd-analyze (the unit's verify and security checks). Idempotent.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
need=()
command -v podman >/dev/null || need+=(podman)
command -v buildah >/dev/null || need+=(buildah)
command -v runc >/dev/null || need+=(runc)
command -v podman-compose >/dev/null || need+=(podman-compose)
# Container names resolve on a compose project's network through CNI's dnsname plugin.
[ -x /usr/lib/cni/dnsname ] || need+=(golang-github-containernetworking-plugin-dnsname)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ "${#need[@]}" -gt 0 ]; then
  echo "deploy-deps.sh: installing ${need[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    "${need[@]}" uidmap slirp4netns fuse-overlayfs
fi
# The Debian package starts a Prometheus on :9090 where an init system runs; the tests start their own.
podman --version; buildah --version; runc --version | head -1
podman-compose version 2>/dev/null | grep -i 'podman-compose' | head -1 || true
docker-compose version --short
prometheus --version 2>&1 | head -1; promtool --version 2>&1 | head -1
systemd-analyze --version | head -1
