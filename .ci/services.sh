#!/usr/bin/env bash
# Makes sure the database servers the tests use are up, installing them when missing. Idempotent.
# etcd.sh, called at the end, does the same for a three-member etcd cluster.
#   PostgreSQL: 127.0.0.1:5432, user postgres, trust authentication, database test
#   MariaDB:    127.0.0.1:3306, user root without password, database test
# Exits non-zero, loudly, when a server cannot be brought up.
set -euo pipefail

die() { echo "services.sh: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

pg_up() { psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; }
my_up() { mariadb -h 127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1; }

wait_for() { # name check
  for _ in $(seq 1 60); do
    if "$2"; then return 0; fi
    sleep 1
  done
  die "$1 does not answer after 60 s"
}

need=0
command -v pg_ctlcluster >/dev/null || need=1
[ -x /usr/sbin/mariadbd ] || need=1
command -v psql >/dev/null && command -v mariadb >/dev/null || need=1
if [ "$need" = 1 ]; then
  echo "services.sh: installing postgresql and mariadb-server"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql mariadb-server || die "apt-get install failed"
fi

# PostgreSQL: trust local and loopback connections, listen on 127.0.0.1:5432.
if ! pg_up; then
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$ver" ] || die "no PostgreSQL cluster under /etc/postgresql"
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    as_root sh -c "printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' > '$hba'"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  wait_for PostgreSQL pg_up
fi
if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atqc "select 1 from pg_database where datname = 'test'")" != 1 ]; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'create database test' || die "cannot create PostgreSQL database test"
fi

# MariaDB: root without password over TCP.
if ! my_up; then
  as_root mkdir -p /run/mysqld
  as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1 --port=3306 \
    || die "cannot start mariadbd"
  for _ in $(seq 1 60); do
    if my_up; then break; fi
    # A fresh install lets root in through the socket only: allow a password-less TCP login.
    if as_root mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES" >/dev/null 2>&1; then
      continue
    fi
    sleep 1
  done
  wait_for MariaDB my_up
fi
mariadb -h 127.0.0.1 -uroot -e 'create database if not exists test' || die "cannot create MariaDB database test"

# MariaDB's time zone tables, for the test that runs a session in Europe/Berlin across the hour
# that repeats when daylight saving ends (sqlassign TestMySQLTimeZone).
if [ "$(mariadb -h 127.0.0.1 -uroot -Nse "select count(*) from mysql.time_zone_name where name = 'Europe/Berlin'")" != 1 ]; then
  [ -d /usr/share/zoneinfo/Europe ] || as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q tzdata || die "cannot install tzdata"
  tz2sql=$(command -v mariadb-tzinfo-to-sql || command -v mysql_tzinfo_to_sql) || die "no mariadb-tzinfo-to-sql"
  "$tz2sql" /usr/share/zoneinfo 2>/dev/null | mariadb -h 127.0.0.1 -uroot mysql || die "cannot load MariaDB's time zone tables"
fi

echo "services.sh: PostgreSQL and MariaDB are up"

# etcd: a three-member cluster on loopback (see etcd.sh).
bash "$(dirname "$0")/etcd.sh"
