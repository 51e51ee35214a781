#!/usr/bin/env bash
# Installs what OneStop needs on a fresh Debian/Ubuntu machine; does nothing when all is there.
set -euo pipefail

packages=(postgresql postgresql-contrib libpq-dev libcurl4-openssl-dev python3-aiosmtpd curl netcat-openbsd procps)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's postgresql package may start a system cluster on 5432; OneStop runs its own in
# .data/ and does not need it, so it is left alone.
# The gateway's API fuzzing test runs schemathesis (PyPI) against the OpenAPI document.
# The test runs it as `python3 -c ...` (see FuzzTests.swift), so check it is importable there.
# Major version pinned: a new major may change the CLI the test drives.
if ! python3 -c "import schemathesis.cli" >/dev/null 2>&1; then
    echo "==> installing schemathesis (pip)"
    python3 -m pip install -q --disable-pip-version-check --break-system-packages "schemathesis>=4.32,<5" 2>/dev/null \
        || python3 -m pip install -q --disable-pip-version-check "schemathesis>=4.32,<5"
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.x (https://swift.org/install)" >&2; exit 1; }
# The Open311 tests validate answers against the GeoReport v2 JSON Schemas with Python's
# jsonschema (4.18+, for referencing); distributions ship older ones.
if ! python3 -c "import jsonschema, referencing" 2>/dev/null; then
    echo "==> installing jsonschema (pip, user site)"
    python3 -m pip install --quiet --user --break-system-packages "jsonschema>=4.18" \
        || python3 -m pip install --quiet --user "jsonschema>=4.18"
fi
