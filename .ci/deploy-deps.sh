#!/usr/bin/env bash
# Installs what the deploy and monitoring checks need, from Debian packages: podman and runc (the
# container image test), prometheus and promtool (the rules, /metrics and scrape checks). Idempotent.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
if [ "${#need[@]}" -gt 0 ]; then
  echo "deploy-deps.sh: installing ${need[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    "${need[@]}" uidmap slirp4netns fuse-overlayfs
fi
# The Debian package starts a Prometheus on :9090 where an init system runs; the tests start their own.
podman --version; runc --version | head -1; prometheus --version 2>&1 | head -1; promtool --version 2>&1 | head -1
