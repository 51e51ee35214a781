#!/usr/bin/env bash
# Demo staff for `make run`, created through the gateway's own API as the bootstrap administrator
# (idempotent: existing users and reviewers are left as they are). The routing service seeds its
# departments and handlers itself (ONESTOP_ROUTING_SEED_ORGANISATION=when-empty).
set -euo pipefail
gateway=${1:-http://127.0.0.1:8080}
admin_user=${ONESTOP_GATEWAY_BOOTSTRAP_ADMIN:-admin}
admin_password=${ONESTOP_GATEWAY_BOOTSTRAP_PASSWORD:-onestop-demo-admin}
demo_password=${ONESTOP_DEMO_PASSWORD:-onestop-demo-2026}
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT

curl -fsS -c "$jar" -H 'Content-Type: application/json' \
    -d "{\"user\": \"$admin_user\", \"password\": \"$admin_password\"}" "$gateway/v1/auth/login" >/dev/null

user() { # id, display name, roles (JSON list), department (JSON)
    local status
    status=$(curl -sS -o /dev/null -w '%{http_code}' -b "$jar" -H 'Content-Type: application/json' \
        -d "{\"id\": \"$1\", \"displayName\": \"$2\", \"roles\": $3, \"department\": $4, \"password\": \"$demo_password\"}" \
        "$gateway/v1/users")
    case $status in 201|409) ;; *) echo "could not create $1 (HTTP $status)" >&2; exit 1 ;; esac
}
user officer-li "Li Hua (李华)" '["intake_officer"]' null
user reviewer-chen "Chen Jing (陈静)" '["reviewer"]' null
user routing-zhou "Zhou Tao (周涛)" '["routing_officer"]' null
user public-security-1 "Li Na (李娜)" '["handler"]' '"public_security"'
user head-public-security "Wang Qiang (王强)" '["handler"]' '"public_security"'
user complaints-wu "Wu Fang (吴芳)" '["complaint_officer"]' null
user supervisor-wang "Wang Min (王敏)" '["supervisor"]' null

# The reviewer's place on the review roster: every service type of the catalog.
curl -fsS -o /dev/null -b "$jar" -X PUT -H 'Content-Type: application/json' \
    -d '{"id": "reviewer-chen", "name": "Chen Jing (陈静)", "serviceTypes": ["business_registration", "residence_permit", "social_security_enrolment", "housing_fund_withdrawal", "building_permit", "food_business_licence", "birth_registration", "tax_certificate", "senior_allowance", "disability_certificate"], "onDuty": true}' \
    "$gateway/v1/review/reviewers/reviewer-chen"
