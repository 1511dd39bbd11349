#!/usr/bin/env bash
# .ci/go-image.sh: makes, without any registry, the Go image that the Dockerfile's build stage
# starts from, out of this host's Go toolchain, so that the whole Dockerfile builds here. The image
# is FROM scratch: /usr/local/go, bash (also as /bin/sh, for RUN) and the tools
# deploy/container/rootfs.sh runs (env, dirname, mkdir, cp) with their shared libraries, the CA
# certificates, and /tmp. GOPROXY is file:///gomodcache first, then the Go module proxy:
# .ci/container.sh mounts the host's module download cache there for RUN steps, so go mod download
# reads what the host already has. It is tagged with the Dockerfile's GO_IMAGE default
# (docker.io/library/golang:1.26), so that a plain podman build . finds it, and carries the label
# snowfall.local-go-image naming the host's Go version: it is a local stand-in, never pushed.
# Idempotent: it rebuilds only when the host's Go version changed. buildah comes from
# .ci/deploy-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=$(sed -n 's/^ARG GO_IMAGE=//p' Dockerfile)
[ -n "$tag" ] || { echo "go-image.sh: no ARG GO_IMAGE=… in the Dockerfile" >&2; exit 1; }
gover=$(go env GOVERSION)
want=${tag##*:}
case "$gover" in
  go"$want" | go"$want".*) ;;
  *) echo "go-image.sh: the Dockerfile wants $tag, this host has $gover" >&2; exit 1 ;;
esac
if [ "$(podman image inspect --format '{{index .Labels "snowfall.local-go-image"}}' "$tag" 2>/dev/null)" = "$gover" ]; then
  echo "go-image.sh: $tag ($gover, local) is up to date"
  exit 0
fi
t0=$(date +%s)
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
root=$(buildah mount "$ctr")
goroot=$(go env GOROOT)
mkdir -p "$root/usr/local" "$root/usr/bin" "$root/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/root" "$root/go"
chmod 1777 "$root/tmp"
# The toolchain without its own test suite and API lists, which builds never read.
tar -C "$(dirname "$goroot")" --exclude=go/test --exclude=go/api -cf - "$(basename "$goroot")" | tar -C "$root/usr/local" -xf -
[ "$goroot" = /usr/local/go ] || mv "$root/usr/local/$(basename "$goroot")" "$root/usr/local/go"
for tool in bash env dirname mkdir cp; do
  p=$(command -v "$tool")
  cp -L "$p" "$root/usr/bin/$tool"
  for lib in $(ldd "$p" | awk '$(NF-1) ~ /^\// {print $(NF-1)}'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -Ln "$lib" "$root$lib"
  done
done
ln -s /usr/bin/bash "$root/bin/sh"
ln -s /usr/bin/bash "$root/bin/bash"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
buildah umount "$ctr" >/dev/null
buildah config --env PATH=/usr/local/go/bin:/go/bin:/usr/bin:/bin --env HOME=/root --env GOPATH=/go \
  --env GOPROXY=file:///gomodcache,https://proxy.golang.org --env GOTOOLCHAIN=local --workingdir /go \
  --label snowfall.local-go-image="$gover" "$ctr"
buildah commit -q --rm "$ctr" "$tag" >/dev/null
trap - EXIT
echo "go-image.sh: made $tag from the host's $gover in $(($(date +%s) - t0)) s ($(($(podman image inspect --format '{{.Size}}' "$tag") / 1048576)) MiB)"
