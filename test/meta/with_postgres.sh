#!/usr/bin/env bash
# with_postgres.sh CMD [ARGS...]: runs CMD with BERTH_TEST_PG_DSN naming a throwaway PostgreSQL
# cluster (Debian's `postgresql` package: initdb in a temp directory, a unix socket there and
# 127.0.0.1 on a free port, fsync off), then stops and deletes it, whatever CMD did. Sets
# BERTH_REQUIRE_PG=1 so tests fail instead of skipping when the DSN does not work. Works as root
# (the server runs as the `postgres` user) and as an ordinary user.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[[ -n $bindir ]] || { echo "with_postgres: the postgresql package is not installed (scripts/setup.sh --test)" >&2; exit 1; }
dir=$(mktemp -d /tmp/berth-pg.XXXXXX)
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  as_pg "$bindir/pg_ctl" -D "$dir/pg" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
if [[ $(id -u) == 0 ]]; then chmod 755 "$dir"; install -d -o postgres -g postgres -m 700 "$dir/pg"; else mkdir -m 700 "$dir/pg"; fi
as_pg "$bindir/initdb" -D "$dir/pg" -U berth --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
  || { echo "with_postgres: initdb failed:" >&2; tail -5 "$dir/initdb.log" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$bindir/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null || { echo "with_postgres: server did not start:" >&2; tail -5 "$dir/pg/server.log" >&2; exit 1; }
as_pg "$bindir/createdb" -h "$dir/pg" -p "$port" -U berth berth
export BERTH_TEST_PG_DSN="host=$dir/pg port=$port user=berth dbname=berth"
export BERTH_REQUIRE_PG=1
"$@"
