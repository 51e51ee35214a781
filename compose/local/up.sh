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
# The first administrator of the local demo (a real deployment sets its own, see the README).
export ONESTOP_GATEWAY_BOOTSTRAP_ADMIN=${ONESTOP_GATEWAY_BOOTSTRAP_ADMIN:-admin}
export ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD=${ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD:-onestop-demo-admin}
gateway_url="http://127.0.0.1:${ONESTOP_GATEWAY_HTTP_PORT:-8080}"

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

for _ in $(seq 1 60); do
    curl -fsS "$gateway_url/openapi.json" >/dev/null 2>&1 && break
    sleep 0.5
done
echo "==> demo staff"
bash compose/local/seed.sh "$gateway_url"

echo
echo "OneStop is running. The public API: $gateway_url (OpenAPI document: $gateway_url/openapi.json)"
printf '  %-13s %-22s %s\n' service "line protocol" "admin (healthz, readyz, metrics)"
index=0
for service in "${services[@]}"; do
    printf '  %-13s %-22s %s\n' "$service" "127.0.0.1:$((7100 + index))" "http://127.0.0.1:$((9100 + index))/readyz"
    index=$((index + 1))
done
echo "  emails to customers: .logs/mail.log    SMS: .logs/sms.log (local sinks on 2525 and 2580)"
echo "  logs: .logs/*.log    stop: make down (keeps the data)    remove the data: make clean"
cat <<INFO

Demo logins (password ${ONESTOP_DEMO_PASSWORD:-onestop-demo-2026}; administrator: $ONESTOP_GATEWAY_BOOTSTRAP_ADMIN / $ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD):
  officer-li (intake officer)   reviewer-chen (reviewer)   routing-zhou (routing officer)
  public-security-1 (handler, public_security)   head-public-security (department head)
  complaints-wu (complaint officer)   supervisor-wang (supervisor)

Try:
  curl -s $gateway_url/v1/catalog | head -c 600; echo
  curl -s -c /tmp/onestop.jar -H 'Content-Type: application/json' -d '{"user": "officer-li", "password": "${ONESTOP_DEMO_PASSWORD:-onestop-demo-2026}"}' $gateway_url/v1/auth/login
  curl -s -b /tmp/onestop.jar -H 'Content-Type: application/json' $gateway_url/v1/cases -d '{"channel": "counter", "serviceType": "residence_permit", "applicantType": "individual", "applicant": {"name": "张三", "idType": "resident_id", "idNumber": "11010519491231002X"}, "contact": {"phone": "13812345678", "email": "zhang.san@example.com", "locale": "zh-CN"}, "description": "申请办理本市居住证，已在本区居住满半年。", "materials": [{"code": "id_card", "copies": 1, "original": true}, {"code": "photo", "copies": 2, "original": true}, {"code": "residence_proof", "copies": 1, "original": false}]}'
Then follow it: curl -s $gateway_url/v1/public/track -H 'Content-Type: application/json' -d '{"trackingNumber": "<from the answer>", "accessCode": "<from the answer>"}'
A service's line protocol by hand: printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"sys.hello","params":{"service":"ops","credential":"onestop-local-development-secret"}}' '{"jsonrpc":"2.0","id":2,"method":"sys.describe"}' | nc -q1 127.0.0.1 7101
INFO
