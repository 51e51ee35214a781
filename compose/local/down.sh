#!/usr/bin/env bash
# `make down`: SIGTERM every service (graceful: in-flight calls finish), then stop Postgres.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
for pidfile in "$root"/.data/pids/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
        echo "$(basename "$pidfile" .pid) stopped"
    fi
    rm -f "$pidfile"
done
bash compose/local/pg.sh stop
