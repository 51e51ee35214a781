#!/usr/bin/env bash
# `make run`: Postgres, a build, every service as a process with its log in .logs/, then waits
# until each /readyz is green and prints where everything listens.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
config=${ONESTOP_BUILD_CONFIG:-release}
services=(gateway intake review routing notification complaints)

bash compose/local/setup.sh
bash compose/local/pg.sh start
echo "==> building ($config)"
swift build -c "$config" 2>&1 | tail -n 3
bin=$(swift build -c "$config" --show-bin-path)

mkdir -p "$root/.data/pids" "$root/.logs"
export ONESTOP_LOG_FORMAT=${ONESTOP_LOG_FORMAT:-text}
# The routing service seeds its demonstration organisation (Services/Routing/Service/Organisation)
# when its database is empty, so cases registered locally are routed to someone.
export ONESTOP_ROUTING_SEED_ORGANISATION=${ONESTOP_ROUTING_SEED_ORGANISATION:-when-empty}

# Local stand-ins for the mail server and the SMS gateway (the notification service's defaults):
# every email lands in .logs/mail.log, every SMS in .logs/sms.log.
start_sink() {
    local name=$1; shift
    local pidfile="$root/.data/pids/$name.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return; fi
    nohup "$@" >>"$root/.logs/$name.log" 2>&1 &
    echo $! >"$pidfile"
}
start_sink mail /usr/bin/python3 -u -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Debugging
start_sink sms-gateway /usr/bin/python3 -u compose/local/sms_sink.py 2580 "$root/.logs/sms.log"
for service in "${services[@]}"; do
    pidfile="$root/.data/pids/$service.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "$service already running (pid $(cat "$pidfile"))"
        continue
    fi
    nohup "$bin/$service" >>"$root/.logs/$service.log" 2>&1 &
    echo $! >"$pidfile"
done

echo "==> waiting for every service to be ready"
index=0
for service in "${services[@]}"; do
    admin=$((9100 + index))
    ready=no
    for _ in $(seq 1 120); do
        if curl -fsS "http://127.0.0.1:$admin/readyz" >/dev/null 2>&1; then ready=yes; break; fi
        sleep 0.5
    done
    if [ "$ready" != yes ]; then
        echo "$service did not become ready; last lines of .logs/$service.log:" >&2
        tail -n 20 "$root/.logs/$service.log" >&2
        exit 1
    fi
    index=$((index + 1))
done

echo
echo "OneStop is running."
printf '  %-13s %-22s %s\n' service "line protocol" "admin (healthz, readyz, metrics)"
index=0
for service in "${services[@]}"; do
    printf '  %-13s %-22s %s\n' "$service" "127.0.0.1:$((7100 + index))" "http://127.0.0.1:$((9100 + index))/readyz"
    index=$((index + 1))
done
echo "  emails to customers: .logs/mail.log    SMS: .logs/sms.log (local sinks on 2525 and 2580)"
echo "  logs: .logs/*.log    stop: make down"
