#!/bin/sh
# e2e.sh - the browser end-to-end test of the web consoles.
#
#   scripts/e2e.sh                  (from anywhere; runs from the repository root)
#
# Starts a throwaway PostgreSQL (scripts/pg-local.sh) and the daemon with
# one van (van1, the demo driver token's van) on a free loopback port, the
# service clock at 09:00 and demo tokens; builds the consoles from
# api/web/src into a temporary folder and serves those; runs
# tests/e2e/e2e.mjs (Playwright driving headless Chromium); stops
# everything.  Prints cmocka-like lines ("[  PASSED  ] N test(s).") that
# scripts/run-tests.sh counts; exit status 0 when every test passed.
#
# Environment: NORIAI_BIN (default build/noriai), E2E_ARTIFACTS (where
# screenshots and logs go; default tests/e2e/artifacts), E2E_KEEP=1 keeps
# the temporary folders, E2E_HEADED=1 shows the browser.  Needs node, npm
# packages in api/web/node_modules (scripts/web-build.sh --deps) and
# /usr/bin/chromium (Debian package chromium).
set -u

PROG=e2e.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BIN=${NORIAI_BIN:-build/noriai}
ART=${E2E_ARTIFACTS:-$ROOT/tests/e2e/artifacts}
TMP=
PGDIR=
DPID=

fail() {
    echo "$PROG: $*" >&2
    echo "[  FAILED  ] 1 test(s), listed below:"
    echo "[  FAILED  ] e2e setup"
    exit 1
}

cleanup() {
    if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
        kill "$DPID" 2>/dev/null
        i=0
        while kill -0 "$DPID" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 "$DPID" 2>/dev/null
    fi
    [ -n "$PGDIR" ] && scripts/pg-local.sh stop "$PGDIR" >/dev/null 2>&1
    if [ "${E2E_KEEP:-0}" != 1 ]; then
        [ -n "$PGDIR" ] && rm -rf "$PGDIR"
        [ -n "$TMP" ] && rm -rf "$TMP"
    else
        echo "$PROG: kept $TMP and $PGDIR" >&2
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "[==========] Running the web consoles' end-to-end test."
command -v node >/dev/null 2>&1 || fail "node is missing (Debian package nodejs)"
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing (apt-get install chromium)"
[ -x "$BIN" ] || fail "$BIN is missing: build first (make), or set NORIAI_BIN"
[ -d api/web/node_modules/playwright-core ] || scripts/web-build.sh --deps >&2 ||
    fail "npm packages of api/web cannot be installed"
mkdir -p "$ART" || fail "cannot create $ART"

TMP=$(mktemp -d /tmp/noriai-e2e.XXXXXX) || fail "mktemp failed"
PGDIR=$(mktemp -d /tmp/noriai-e2e-pg.XXXXXX) || fail "mktemp failed"

(cd api/web && node build.mjs "$TMP/web") >"$TMP/web-build.log" 2>&1 ||
    { cat "$TMP/web-build.log" >&2; fail "the consoles do not build"; }

CONNINFO=$(scripts/pg-local.sh start "$PGDIR" 2>"$TMP/pg.err" | head -n 1)
[ -n "$CONNINFO" ] || { cat "$TMP/pg.err" >&2; fail "PostgreSQL does not start"; }

# One van, so the booking lands on van1 (the demo driver token's van).
cat >"$TMP/serve.json" <<'JSON'
{
  "comment": "e2e: one van, no break",
  "fleet": [{"id": "van1", "count": 1, "configs": [{"seats": 8, "wheelchairs": 0}]}]
}
JSON

"$BIN" serve --database "$CONNINFO" --listen 127.0.0.1:0 --clock 09:00 \
    --config "$TMP/serve.json" --demo-tokens "$TMP/tokens.json" --web "$TMP/web" \
    >"$TMP/daemon.log" 2>&1 &
DPID=$!

URL=
i=0
while [ $i -lt 300 ]; do
    URL=$(sed -n 's/.*"msg":"listening".*"url":"\(http:[^"]*\)".*/\1/p' "$TMP/daemon.log" | head -n 1)
    [ -n "$URL" ] && [ -s "$TMP/tokens.json" ] && break
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if [ -z "$URL" ]; then
    tail -n 30 "$TMP/daemon.log" >&2
    fail "the daemon did not start"
fi

E2E_BASE=${URL%/} E2E_TOKENS="$TMP/tokens.json" E2E_ARTIFACTS="$ART" \
    node tests/e2e/e2e.mjs
rc=$?
cp "$TMP/daemon.log" "$ART/daemon.log" 2>/dev/null
exit $rc
