#!/usr/bin/env bash
# .ci/release-check.sh DIR: checks the release archives that scripts/release.sh made in DIR as a
# user takes them (docs/operations.md, "Install"): the sums, each archive unpacked, its contents
# (both commands, README.md, LICENSE, docs/*.md), every relative link of its README.md and
# docs/*.md resolving inside the unpacked tree (the file, and the #anchor among its headings), and
# the install commands into a temporary prefix; the installed snowfall runs where the archive is
# for this machine's platform.
set -euo pipefail
dir=$(cd "${1:?usage: .ci/release-check.sh DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "release-check.sh: $*" >&2; exit 1; }

# The anchors of a Markdown file's headings, as GitHub makes them (code blocks skipped).
anchors() {
  awk '/^```/ {code = !code; next} !code && /^#+ / {
    h = tolower($0); sub(/^#+ +/, "", h); gsub(/[^a-z0-9 _-]/, "", h); gsub(/ /, "-", h); print h }' "$1"
}

(cd "$dir" && sha256sum --check --ignore-missing SHA256SUMS) >/dev/null || fail "SHA256SUMS does not match"
here="$(go env GOOS)_$(go env GOARCH)"
n=0 links=0
for archive in "$dir"/*.tar.gz; do
  name=$(basename "$archive" .tar.gz)
  cp "$archive" "$work/"
  (cd "$work" && tar -xzf "$name.tar.gz")
  root="$work/$name"
  for f in snowfall snowflake_start_server README.md LICENSE docs/operations.md; do
    [ -e "$root/$f" ] || fail "$name.tar.gz has no $f"
  done
  for md in "$root/README.md" "$root"/docs/*.md; do
    while IFS= read -r link; do
      target=${link%%#*} anchor=
      [[ "$link" == *"#"* ]] && anchor=${link#*#}
      if [ -z "$target" ]; then path=$md; else path=$(dirname "$md")/$target; fi
      [ -e "$path" ] || fail "$name: ${md#"$root"/} links to $link, which the archive lacks"
      if [ -n "$anchor" ] && [[ "$path" == *.md ]]; then
        anchors "$path" | grep -qxF -- "$anchor" || fail "$name: ${md#"$root"/} links to $link: no such heading"
      fi
      links=$((links + 1))
    done < <(grep -o '\]([^)]*)' "$md" | sed 's/^](//; s/)$//' | grep -Ev '^(https?:|mailto:)' || true)
  done
  prefix="$work/prefix-$name"
  mkdir -p "$prefix/bin"
  (cd "$work" && install -m 755 "$name/snowfall" "$prefix/bin/snowfall" &&
    install -m 755 "$name/snowflake_start_server" "$prefix/bin/snowflake_start_server")
  if [[ "$name" == *"_$here" ]]; then
    version=$(echo "$name" | cut -d_ -f2)
    "$prefix/bin/snowfall" version | grep -qF -- "$version" || fail "$name: the installed snowfall version does not name $version"
  fi
  n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no archives in $dir"
echo "release-check.sh: $n archives: sums, contents, $links relative links resolved, installed"
