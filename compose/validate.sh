#!/usr/bin/env bash
# Offline validation of the deployment files (`make validate-deploy`, part of `make test`).
# No Docker engine and no Kubernetes cluster are needed or used:
#   1. compose/docker-compose.yml: Debian's docker-compose parses, interpolates and checks it
#      against its Compose JSON Schema (`config` talks to no daemon), then check.py cross-checks
#      it (health checks on each admin port, a Postgres per service, peer addresses, variables);
#      a deliberately broken copy must be rejected.
#   2. compose/k8s (KEDA) and compose/k8s/without-keda (CPU HPA): every manifest the
#      kustomizations pull in, built-in kinds against the Kubernetes schemas bundled in PyPI's
#      kubernetes-validate (strict), KEDA and CloudNativePG resources against
#      compose/validate/schemas, then cross-checks; broken copies must be rejected. When kubectl
#      is on the PATH, `kubectl kustomize` must also render both.
#   3. compose/Dockerfile: stages, copied paths, every executable of Package.swift, non-root.
# Installs what it lacks: docker-compose with apt, a virtualenv with kubernetes-validate in
# .build-validate/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$(date +%s)
KUBERNETES_VALIDATE_VERSION=1.37.0

# ---- tools ----
if ! command -v docker-compose >/dev/null 2>&1; then
    echo "==> installing docker-compose (Debian)"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
venv="$root/.build-validate/venv"
python="$venv/bin/python"
[ -x "$python" ] || python=python3
if ! "$python" -c "import kubernetes_validate, jsonschema, yaml" 2>/dev/null \
    || [ "$("$python" -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))' 2>/dev/null)" != "$KUBERNETES_VALIDATE_VERSION" ]; then
    echo "==> installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION (PyPI) in .build-validate/venv"
    rm -rf "$venv"
    if python3 -m venv "$venv" >/dev/null 2>&1; then
        "$venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    else
        # A Debian python3 without the venv module: install for this user instead.
        rm -rf "$venv"
        python3 -m pip install -q --disable-pip-version-check --user --break-system-packages \
            "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
    fi
fi
python="$venv/bin/python"
[ -x "$python" ] || python=python3
check="$root/compose/validate/check.py"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- 1. docker-compose.yml ----
# The real env files are git-ignored: validate a copy with each committed example in their place.
mkdir -p "$work/compose"
cp -R compose/docker-compose.yml compose/env compose/local "$work/compose/"
for example in "$work"/compose/env/*.env.example; do
    cp "$example" "${example%.example}"
done
# The compose file's own ${VARIABLES} take their defaults, whatever this shell has set.
compose() { env -u ONESTOP_IMAGE -u ONESTOP_GATEWAY_HTTP_PORT -u ONESTOP_REVIEW_WORKERS -u ONESTOP_MAIL_UI_PORT docker-compose "$@"; }
(cd "$work/compose" && compose -f docker-compose.yml config -q)
(cd "$work/compose" && compose -f docker-compose.yml config) >"$work/compose-rendered.yaml"
echo "ok   docker-compose.yml: docker-compose $(docker-compose version --short 2>/dev/null) config (Compose schema, interpolation, env files)"
"$python" "$check" compose "$work/compose-rendered.yaml"
sed 's/^    healthcheck:/    helthcheck:/' compose/docker-compose.yml >"$work/compose/broken.yml"
if (cd "$work/compose" && compose -f broken.yml config -q) >/dev/null 2>&1; then
    echo "FAIL docker-compose config accepted a misspelt key (healthcheck → helthcheck)"
    exit 1
fi
echo "ok   docker-compose config rejects a misspelt key"

# ---- 2. Kubernetes ----
"$python" "$check" k8s compose/k8s compose/k8s/without-keda
"$python" "$check" selftest compose/k8s
if command -v kubectl >/dev/null 2>&1; then
    for dir in compose/k8s compose/k8s/without-keda; do
        kubectl kustomize "$dir" >"$work/rendered.yaml"
        echo "ok   kubectl kustomize $dir renders $(grep -c '^kind:' "$work/rendered.yaml") resources"
    done
else
    echo "skip kubectl kustomize (kubectl not installed; check.py read the kustomizations itself)"
fi

# ---- 3. Dockerfile ----
"$python" "$check" dockerfile
sh -n compose/entrypoint.sh
bash -n compose/env/generate.sh

echo "deployment files valid ($(($(date +%s) - started)) s)"
