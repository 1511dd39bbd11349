#!/usr/bin/env bash
# .ci/compose-images.sh: makes, without any registry, the two images compose.yaml runs beside the
# Snowfall servers, out of this host's Debian packages, for .ci/compose.sh: FROM scratch,
#   localhost/snowfall-ci/postgres:15      PostgreSQL 15 (postgresql), with an entry point that does
#                                          what the official image's does for POSTGRES_PASSWORD and
#                                          POSTGRES_DB on an empty volume, and bash as /bin/sh (for
#                                          podman-compose's /bin/sh -c health check, pg_isready)
#   localhost/snowfall-ci/prometheus:2.42  Prometheus 2.42 (prometheus)
# each with the shared libraries its programs load. They stand in for docker.io/library/postgres:17
# and docker.io/prom/prometheus:v2.53.0 (.ci/compose.yaml names them); they are never pushed.
# Idempotent: an image that exists is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
pm() { podman --runtime runc --cgroup-manager=cgroupfs "$@"; }

# copy ROOT FILE…: copies each file (following links) and the shared libraries it loads.
copy() {
  local root=$1 f lib
  shift
  for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"
    cp -L "$f" "$root$f"
    for lib in $(ldd "$f" 2>/dev/null | awk '$(NF-1) ~ /^\// {print $(NF-1)}'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -Ln "$lib" "$root$lib"
    done
  done
}

# build TAG: commits the tree a function filled ($root) with the configuration given after TAG.
image() {
  local tag=$1 fill=$2
  shift 2
  if pm image exists "$tag"; then return; fi
  local ctr root
  ctr=$(buildah from scratch)
  root=$(buildah mount "$ctr")
  mkdir -p "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  "$fill" "$root"
  buildah umount "$ctr" >/dev/null
  buildah config "$@" --label snowfall.local-stand-in=true "$ctr"
  buildah commit -q --rm "$ctr" "$tag" >/dev/null
  echo "compose-images.sh: made $tag ($(($(pm image inspect --format '{{.Size}}' "$tag") / 1048576)) MiB)"
}

pgbin=/usr/lib/postgresql/15/bin
postgres_tree() {
  local root=$1
  copy "$root" /usr/bin/bash "$pgbin/postgres" "$pgbin/initdb" "$pgbin/pg_isready" "$pgbin/pg_ctl"
  tar -C /usr/lib/postgresql/15 --exclude=lib/bitcode -cf - lib | tar -C "$root/usr/lib/postgresql/15" -xf -
  for so in "$root"/usr/lib/postgresql/15/lib/*.so; do copy "$root" "/usr/lib/postgresql/15/lib/$(basename "$so")" 2>/dev/null || true; done
  mkdir -p "$root/usr/share/postgresql" "$root/usr/share/zoneinfo" "$root/bin" "$root/var/run/postgresql" "$root/var/lib/postgresql/data"
  cp -a /usr/share/postgresql/15 "$root/usr/share/postgresql/"
  cp -a /usr/share/zoneinfo/UTC /usr/share/zoneinfo/Etc "$root/usr/share/zoneinfo/"
  ln -s /usr/bin/bash "$root/bin/sh"
  printf 'root:x:0:0::/root:/bin/sh\npostgres:x:999:999::/var/lib/postgresql:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\npostgres:x:999:\n' >"$root/etc/group"
  chown -R 999:999 "$root/var/run/postgresql" "$root/var/lib/postgresql"
  chmod 700 "$root/var/lib/postgresql/data"
  mkdir -p "$root/usr/local/bin"
  cat >"$root/usr/local/bin/entrypoint" <<'SH'
#!/usr/bin/bash
# The official postgres image's first start, for POSTGRES_PASSWORD and POSTGRES_DB, then postgres.
set -euo pipefail
data=/var/lib/postgresql/data
if [ ! -s "$data/PG_VERSION" ]; then
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >/tmp/pw
  initdb -D "$data" -U postgres --pwfile=/tmp/pw --auth-local=trust --auth-host=scram-sha-256 --locale=C --encoding=UTF8 >/dev/null
  : >/tmp/pw
  echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$data/postgresql.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\"" | postgres --single -D "$data" postgres >/dev/null
  fi
fi
exec postgres -D "$data"
SH
  chmod 755 "$root/usr/local/bin/entrypoint"
}
image localhost/snowfall-ci/postgres:15 postgres_tree --user 999:999 --env PATH=$pgbin:/usr/bin:/bin --env TZ=UTC \
  --entrypoint '["/usr/local/bin/entrypoint"]' --port 5432 --volume /var/lib/postgresql/data

prometheus_tree() {
  local root=$1
  copy "$root" /usr/bin/prometheus
  mkdir -p "$root/prometheus" "$root/etc/prometheus"
}
image localhost/snowfall-ci/prometheus:2.42 prometheus_tree --entrypoint '["/usr/bin/prometheus"]' --port 9090
