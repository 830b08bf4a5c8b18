#!/bin/sh
# web-build.sh - builds the web consoles (api/web/src -> api/web/dist).
#
#   scripts/web-build.sh            install the npm packages if needed, then build
#   scripts/web-build.sh --deps     only install the npm packages (make deps)
#
# Packages come from the npm registry through the lock file
# (api/web/package-lock.json) with `npm ci`; they are installed again only
# when node_modules is missing or older than the lock file, so a build with
# packages present needs no network.  The bundles are made by
# api/web/build.mjs (esbuild); nothing is fetched when the consoles run.
# Source maps are not kept (see below).
# Needs node and npm (Debian: nodejs, npm).
set -eu

PROG=web-build.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEB=$ROOT/api/web

die() {
    echo "$PROG: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node is missing (Debian package nodejs)"
command -v npm >/dev/null 2>&1 || die "npm is missing (Debian package npm)"

deps() {
    stamp=$WEB/node_modules/.package-lock.json
    if [ -f "$stamp" ] && [ ! "$WEB/package-lock.json" -nt "$stamp" ] && [ -d "$WEB/node_modules/esbuild" ]; then
        return 0
    fi
    echo "$PROG: installing npm packages (npm ci in api/web)"
    (cd "$WEB" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) ||
        die "npm ci failed in api/web: is the npm registry reachable (or the packages in the npm cache)?"
}

case ${1:-} in
--deps)
    deps
    exit 0
    ;;
"") ;;
*)
    echo "usage: $PROG [--deps]" >&2
    exit 2
    ;;
esac

deps
cd "$WEB" && node build.mjs
# No source maps in what the daemon serves (it refuses *.map anyway): they
# would hand out the consoles' source and nothing needs them at run time.
# build.mjs asks esbuild for linked maps, so they are removed here together
# with the comments that point to them.
find "$WEB/dist" -type f -name '*.map' -exec rm -f {} +
find "$WEB/dist" -type f \( -name '*.js' -o -name '*.css' \) -exec \
    sed -i -e '/^\/\/# sourceMappingURL=/d' -e 's|/\*# sourceMappingURL=[^*]*\*/||' {} +
