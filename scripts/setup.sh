#!/usr/bin/env bash
# Idempotent dev/CI setup for dmsrs.
#
# Installs (only what is missing):
#   - MariaDB server + client (mariadbd, mariadb-install-db, mariadb, mariadb-binlog) via apt
#   - a Python venv at $REPO/.tools/venv with the pins from scripts/requirements-dev.txt
#     (moto[server], mysql-replication, pymysql, boto3)
#   - kinesis-local (npm) into $REPO/.tools/node
#
# Safe to run many times; prints nothing when everything is already in place.
# Works from any cwd. Uses only system tools (/usr/bin/python3, apt's node/npm),
# never anything installed by hand (pyenv shims, global npm packages, ...).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$REPO/.tools"
VENV="$TOOLS/venv"
NODE_PREFIX="$TOOLS/node"
REQS="$REPO/scripts/requirements-dev.txt"
MOTO_VERSION="5.2.5"
KINESIS_LOCAL_VERSION="0.6.2"

log() { echo "setup.sh: $*"; }

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi

APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- MariaDB
if ! { have mariadbd || [ -x /usr/sbin/mariadbd ]; } || ! have mariadb-install-db \
    || ! have mariadb || ! have mariadb-binlog || ! have mariadb-admin; then
    apt_install mariadb-server mariadb-client
fi
# Debian's package may start a system-wide server; tests never use it.

# ---------------------------------------------------------------- Python venv
SYS_PY=/usr/bin/python3
if [ ! -x "$SYS_PY" ]; then
    apt_install python3 python3-venv
fi
if [ ! -x "$VENV/bin/python" ]; then
    if ! "$SYS_PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        apt_install python3-venv
    fi
    log "creating Python venv at $VENV"
    mkdir -p "$TOOLS"
    "$SYS_PY" -m venv "$VENV"
fi

# Are all pins of requirements-dev.txt satisfied? (checked with the venv's own python)
reqs_ok() {
    [ -x "$VENV/bin/moto_server" ] || return 1
    "$VENV/bin/python" - "$REQS" <<'PY' >/dev/null 2>&1
import sys, re
from importlib.metadata import version, PackageNotFoundError
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    m = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;]+)", line)
    if not m:
        continue
    try:
        if version(m.group(1)) != m.group(3):
            ok = False
    except PackageNotFoundError:
        ok = False
sys.exit(0 if ok else 1)
PY
}
if ! reqs_ok; then
    log "pip install -r scripts/requirements-dev.txt (moto[server]==$MOTO_VERSION, ...)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    moto_show="$("$VENV/bin/python" -m pip show moto 2>/dev/null || true)"
    if ! grep -qx "Version: $MOTO_VERSION" <<<"$moto_show"; then
        echo "setup.sh: moto $MOTO_VERSION not installed in $VENV" >&2
        exit 1
    fi
fi

# ---------------------------------------------------------------- kinesis-local (node)
if ! have node || ! have npm; then
    apt_install nodejs npm
fi
KL_PKG="$NODE_PREFIX/node_modules/kinesis-local/package.json"
kl_version() {
    [ -f "$KL_PKG" ] || return 0
    node -e 'process.stdout.write(require(process.argv[1]).version)' "$KL_PKG" 2>/dev/null || true
}
if [ "$(kl_version)" != "$KINESIS_LOCAL_VERSION" ]; then
    log "npm install kinesis-local@$KINESIS_LOCAL_VERSION into $NODE_PREFIX"
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" "kinesis-local@$KINESIS_LOCAL_VERSION" \
        --no-audit --no-fund --loglevel=error >/dev/null
    if [ "$(kl_version)" != "$KINESIS_LOCAL_VERSION" ]; then
        echo "setup.sh: kinesis-local $KINESIS_LOCAL_VERSION not installed in $NODE_PREFIX" >&2
        exit 1
    fi
fi
