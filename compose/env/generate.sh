#!/usr/bin/env bash
# Writes the real env files of compose/docker-compose.yml from the committed *.env.example, with
# fresh random secrets in place of every `change-me`. An existing env file is kept (a database
# password is fixed when its volume is first created; intake's, complaints' and notification's
# data keys open stored data).
# The real files are git-ignored: keep them out of commits.
set -euo pipefail
cd "$(dirname "$0")"
umask 077

hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }
# write FILE KEY=VALUE... : the example with each listed key's value replaced.
write() {
    local file=$1; shift
    if [ -e "$file" ]; then echo "kept    compose/env/$file"; return; fi
    local content
    content=$(cat "$file.example")
    for pair in "$@"; do
        local key=${pair%%=*} value=${pair#*=}
        content=$(printf '%s\n' "$content" | awk -v k="$key" -v v="$value" 'index($0, k "=") == 1 { print k "=" v; next } { print }')
    done
    printf '%s\n' "$content" >"$file"
    echo "wrote   compose/env/$file"
}

services=(gateway intake review routing notification complaints)
declare -A password
for service in "${services[@]}"; do
    if [ -e "$service-db.env" ]; then
        password[$service]=$(sed -n 's/^PGPASSWORD=//p' "$service-db.env")
    else
        password[$service]=$(hex 24)
    fi
    write "$service-db.env" "POSTGRES_PASSWORD=${password[$service]}" "PGPASSWORD=${password[$service]}"
done
write common.env "ONESTOP_SERVICE_SECRET=$(hex 32)"
write intake.env "ONESTOP_INTAKE_DATA_KEYS=k1:$(b64 32)" "ONESTOP_INTAKE_LOOKUP_KEY=$(b64 32)"
write notification.env "ONESTOP_NOTIFY_DATA_KEYS=k1:$(b64 32)" "ONESTOP_NOTIFY_LOOKUP_KEY=$(b64 32)"
write gateway.env "ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD=$(hex 16)"
write complaints.env "ONESTOP_COMPLAINTS_CONTACT_HASH_KEY=$(hex 32)" "ONESTOP_COMPLAINTS_DATA_KEYS=k1:$(b64 32)"
ops=()
for service in "${services[@]}"; do
    name=onestop_$service
    ops+=("ONESTOP_${service^^}_DATABASE_URL=postgresql://$name:${password[$service]}@$service-db:5432/$name")
done
write ops.env "${ops[@]}"
