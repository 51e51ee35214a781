#!/bin/sh
# The image's entrypoint: the command is an executable name (gateway, intake, review,
# `review worker`, routing, notification, complaints, onestop-ops) and its arguments.
# Every replica needs its own instance name (it names work-queue leases); inside a container
# the pid is always 1, so the default `<service>-<pid>` would collide: use the hostname
# (the container id, or the pod name on Kubernetes) unless ONESTOP_INSTANCE is set.
set -eu
if [ $# -eq 0 ]; then
    echo "usage: <gateway|intake|review [worker]|routing|notification|complaints|onestop-ops> [arguments]" >&2
    exit 2
fi
if [ -z "${ONESTOP_INSTANCE:-}" ]; then
    role=$1
    [ "${2:-}" = worker ] && role="$1-worker"
    ONESTOP_INSTANCE="$role-${HOSTNAME:-$(cat /proc/sys/kernel/hostname)}"
    export ONESTOP_INSTANCE
fi
exec "$@"
