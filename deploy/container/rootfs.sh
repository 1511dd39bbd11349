#!/usr/bin/env bash
# deploy/container/rootfs.sh OUT: builds the file tree of the container image into OUT: both
# commands static (CGO_ENABLED=0) and -trimpath under usr/local/bin, the CA certificates (for
# PostgreSQL or MySQL over TLS) and an empty var/lib/snowfall for the volume. The Dockerfile's build
# stage runs it inside the Go image; .ci/container.sh runs it on the host, where no image can be
# pulled, and then builds the Dockerfile's final stage from OUT. VERSION (environment) is stamped
# into the binaries.
set -euo pipefail
out="${1:?usage: deploy/container/rootfs.sh OUT}"
cd "$(dirname "$0")/../.."
pkg=github.com/snowfall-go/snowfall/internal/buildinfo
ldflags="-s -w -X $pkg.version=${VERSION:-(devel)}"
if rev=$(git rev-parse HEAD 2>/dev/null); then ldflags="$ldflags -X $pkg.revision=$rev"; fi
mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs" "$out/var/lib/snowfall"
for cmd in snowfall snowflake_start_server; do
  CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out/usr/local/bin/$cmd" "./cmd/$cmd"
done
cp /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/" 2>/dev/null || echo "rootfs.sh: no CA certificates to copy" >&2
