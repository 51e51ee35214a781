#!/usr/bin/env bash
# The local Postgres cluster of `make run`: one cluster in .data/pg on port $ONESTOP_PG_PORT
# (25432), a database and a role per service. initdb refuses to run as root, so as root the
# cluster belongs to the `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
# Below Linux's ephemeral range (32768–60999), so no outgoing connection can be holding it.
port=${ONESTOP_PG_PORT:-25432}
data="$root/.data/pg"
log="$root/.logs/postgres.log"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found; run compose/local/setup.sh" >&2; exit 1; }
services=(gateway intake review routing notification complaints)

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
    mkdir -p "$root/.data" "$root/.logs"
    touch "$log"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$log"
        # postgres must reach the data folder through the project folder.
        chmod o+x "$root" "$root/.data" 2>/dev/null || true
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data"
        [ "$(id -u)" -eq 0 ] && chown postgres "$data"
        chmod 700 "$data"
        as_owner "$bindir/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp -c max_connections=300" start >/dev/null
    fi
    for service in "${services[@]}"; do
        db="onestop_$service"
        psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA >/dev/null <<SQL
SELECT 'CREATE ROLE $db LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$db')\gexec
SELECT 'CREATE DATABASE $db OWNER $db' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$db')\gexec
SQL
    done
    echo "postgres: 127.0.0.1:$port (databases: ${services[*]/#/onestop_})"
}

stop() {
    if [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
        echo "postgres stopped"
    fi
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
