#!/bin/sh
# make run: the whole reservation service on this machine, no configuration.
#
#   a private PostgreSQL cluster under var/pg (created on first run),
#   the schema migrations, the synthetic demo town with its five vans,
#   a token per role (var/demo-tokens.json), and the daemon on
#   127.0.0.1:8080 (NORIAI_LISTEN to change) until Ctrl-C.
#
# The demo town's service runs 07:00-19:00 (Asia/Tokyo).  Outside those
# hours the daemon's clock is started at 09:00 instead (NORIAI_CLOCK to
# choose, NORIAI_CLOCK=real for the real time), so bookings can be tried
# whenever this runs.
#
# The tokens file holds live bearer tokens (admin among them): it is made
# readable by its owner only, whatever the daemon or an older run left.
set -eu
BUILD=${1:-build}
LISTEN=${NORIAI_LISTEN:-127.0.0.1:8080}
mkdir -p var
CONNINFO=$(scripts/pg-local.sh start var/pg)
"$BUILD/noriai" migrate --database "$CONNINFO"
CLOCK=${NORIAI_CLOCK:-}
if [ -z "$CLOCK" ]; then
    HOUR=$(TZ=Asia/Tokyo date +%H)
    if [ "$HOUR" -lt 7 ] || [ "$HOUR" -ge 18 ]; then
        CLOCK=09:00
        echo "== outside the demo's service hours in Tokyo (now $(TZ=Asia/Tokyo date +%H:%M)): the service clock starts at 09:00"
    fi
fi
set -- serve --database "$CONNINFO" --listen "$LISTEN" --demo-tokens var/demo-tokens.json
if [ -n "$CLOCK" ] && [ "$CLOCK" != real ]; then
    set -- "$@" --clock "$CLOCK"
fi
echo "== PostgreSQL: $CONNINFO (stop it with: scripts/pg-local.sh stop var/pg)"
# Only now, so that the cluster's own folders keep their modes: files the
# daemon makes are its owner's alone, and a tokens file from an earlier run
# is closed to others before the daemon reuses it.
umask 077
if [ -e var/demo-tokens.json ]; then
    chmod 600 var/demo-tokens.json
fi
exec "$BUILD/noriai" "$@"
