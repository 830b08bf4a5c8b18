#!/bin/sh
# Installs the Debian packages noriai needs, only those missing, without questions.
set -eu
PKGS="build-essential pkg-config libglpk-dev libcmocka-dev libjansson-dev zlib1g-dev libprotobuf-c-dev protobuf-c-compiler libproj-dev proj-data libuv1-dev libpq-dev libssl-dev libhttp-parser-dev libwslay-dev postgresql fonts-ipafont-gothic"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# Node.js and npm (the web consoles' build and the browser test) and
# Chromium: only when the commands are missing, since a machine may have
# them from elsewhere (a nodesource nodejs bundles npm and conflicts with
# Debian's npm package).
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "deps: need root or sudo to install:$missing" >&2; exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
