#!/usr/bin/env bash
# scripts/release.sh: builds the release binaries of both commands (snowfall and
# snowflake_start_server): static (CGO_ENABLED=0; the SQLite driver is pure Go), -trimpath, stamped
# with the version, revision and commit time (-ldflags -X, since builds here use -buildvcs=false),
# for linux and darwin on amd64 and arm64, one .tar.gz per platform (both commands, LICENSE,
# README.md and docs/*.md, so that the README's links work once unpacked) and a SHA256SUMS file
# over the archives. .ci/release-check.sh checks them as a user would.
#   Usage: scripts/release.sh VERSION [OUTDIR]      VERSION like v1.2.3; OUTDIR defaults to dist/
#   Check a download with: sha256sum --check --ignore-missing SHA256SUMS
# TARGETS (environment) overrides the platform list, e.g. TARGETS="linux/amd64".
# .ci/run runs it into a temporary directory to prove every target still compiles.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:?usage: scripts/release.sh VERSION [OUTDIR]}"
out="${2:-dist}"
targets="${TARGETS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}"
case "$version" in
  v[0-9]*) ;;
  *) echo "release.sh: version $version: want v followed by a number, like v1.2.3" >&2; exit 2 ;;
esac

rev=$(git rev-parse HEAD 2>/dev/null || true)
when=$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null || true)
if [ -n "$rev" ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  rev="$rev-modified"
fi
pkg=github.com/snowfall-go/snowfall/internal/buildinfo
ldflags="-s -w -X $pkg.version=$version -X $pkg.revision=$rev -X $pkg.commitTime=$when"

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
archives=()
for t in $targets; do
  goos=${t%/*} goarch=${t#*/}
  name="snowfall_${version}_${goos}_${goarch}"
  dir="$work/$name"
  mkdir -p "$dir"
  start=$(date +%s)
  for cmd in snowfall snowflake_start_server; do
    CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -buildvcs=false -ldflags "$ldflags" \
      -o "$dir/$cmd" "./cmd/$cmd"
  done
  cp LICENSE README.md "$dir/"
  mkdir -p "$dir/docs" && cp docs/*.md "$dir/docs/"
  # Reproducible archives: fixed order, owner and modification time.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="${when:-1970-01-01T00:00:00Z}" \
    -C "$work" -cf - "$name" | gzip -n >"$out/$name.tar.gz"
  archives+=("$name.tar.gz")
  printf '%-14s %3d s  %s\n' "$t" $(($(date +%s) - start)) "$out/$name.tar.gz"
done
(cd "$out" && sha256sum "${archives[@]}" >SHA256SUMS && sha256sum --check --quiet SHA256SUMS)
echo "release.sh: ${#archives[@]} archives and $out/SHA256SUMS"
