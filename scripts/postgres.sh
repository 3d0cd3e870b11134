#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: installs Debian's `postgresql` package if it is missing,
# creates a cluster in a temporary folder (no service manager: initdb + pg_ctl, run as the
# unprivileged `postgres` user when called as root), starts it on 127.0.0.1, and prints the line
# that tells the tests where it is:
#
#   eval "$(bash scripts/postgres.sh)"     # exports ALMANAC_TEST_POSTGRES_URL
#
# Settings: ALMANAC_PG_DIR (default /tmp/almanac-pg), ALMANAC_PG_PORT (default 55432). Calling it
# again reuses the running cluster. `bash scripts/postgres.sh stop` stops it. The cluster trades
# durability for speed (fsync off): it is for tests only.
set -euo pipefail
DIR="${ALMANAC_PG_DIR:-/tmp/almanac-pg}"
PORT="${ALMANAC_PG_PORT:-55432}"
URL="postgres://almanac@127.0.0.1:${PORT}/postgres"

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(bin_dir)" ]; then
  echo "postgres.sh: installing PostgreSQL from the distribution's packages" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
fi
BIN="$(bin_dir)"

# Run the server as an unprivileged user: PostgreSQL refuses to run as root.
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  AS=(runuser -u postgres --)
else
  AS=()
fi

if [ "${1:-}" = "stop" ]; then
  [ -f "$DIR/PG_VERSION" ] && "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" -m fast stop >&2 || true
  exit 0
fi

if [ ! -f "$DIR/PG_VERSION" ]; then
  mkdir -p "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$DIR"
  chmod 700 "$DIR"
  "${AS[@]}" "$BIN/initdb" -D "$DIR" -U almanac --auth=trust --locale=C -E UTF8 >&2
fi
STARTED=
if ! "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  "${AS[@]}" "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 start \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2
  STARTED=1
fi
for _ in $(seq 1 50); do
  "$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q && break
  sleep 0.2
done
"$BIN/pg_isready" -h 127.0.0.1 -p "$PORT" >&2
# The tests make a database each (almanac_*). When this call started the cluster nobody can be
# using them: drop those of earlier runs so that the folder does not grow run after run.
if [ -n "$STARTED" ]; then
  "$BIN/psql" -X -q -t -A "$URL" -c "SELECT datname FROM pg_database WHERE datname LIKE 'almanac\_%'" |
    while read -r db; do "$BIN/psql" -X -q "$URL" -c "DROP DATABASE IF EXISTS \"$db\"" >&2; done
fi
echo "export ALMANAC_TEST_POSTGRES_URL=$URL"
