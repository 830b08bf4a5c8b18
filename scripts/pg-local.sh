#!/bin/sh
# pg-local.sh - a private PostgreSQL cluster in one folder, for `make run`
# (under var/) and for the tests (a temporary folder).
#
#   scripts/pg-local.sh start    DIR   initdb if DIR/data is missing, start, create
#                                      database noriai; prints the conninfo line
#   scripts/pg-local.sh stop     DIR   fast shutdown (open sessions are ended)
#   scripts/pg-local.sh kill     DIR   immediate shutdown, like a crash: no
#                                      checkpoint, the next start replays the WAL
#   scripts/pg-local.sh restart  DIR   stop, then start; prints the conninfo line
#   scripts/pg-local.sh status   DIR   prints "running" (exit 0) or "stopped" (exit 3)
#   scripts/pg-local.sh conninfo DIR   prints the conninfo line
#
# The server listens on no TCP address at all, only on a Unix socket in
# DIR/run, so port 5432 never clashes with another cluster; authentication is
# "trust" for the superuser noriai (the socket folder is the only way in).
# Durability settings are the defaults that matter: fsync and synchronous
# commit on.  The server's log is DIR/postgres.log.
#
# initdb and postgres refuse to run as root; when this script runs as root it
# gives DIR to the `postgres` user and runs them as that user.  Root still
# connects through the socket (trust authentication, socket mode 0777).
#
# Every command is idempotent: starting a running cluster or stopping a
# stopped one only says so.  Binaries: where pg_ctl on PATH really lives
# (if psql is beside it), else the highest /usr/lib/postgresql/*/bin.
set -eu

PROG=pg-local.sh
PORT=5432
PGUSER_NAME=noriai
DBNAME=noriai

die() {
    echo "$PROG: $*" >&2
    exit 1
}

usage() {
    echo "usage: $PROG start|stop|kill|restart|status|conninfo DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
CMD=$1
DIR_ARG=$2
[ -n "$DIR_ARG" ] || usage
case $CMD in
start | stop | kill | restart | status | conninfo) ;;
*) usage ;;
esac
case $DIR_ARG in
*[!A-Za-z0-9_./+@%=,:-]*)
    die "$DIR_ARG: use a folder path of letters, digits and ._/+-@%=,: only (it goes into the server's configuration and the conninfo)" ;;
esac

find_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        # Through symlinks, so psql and createdb come from the same place.
        BIN=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
        [ -x "$BIN/psql" ] && [ -x "$BIN/createdb" ] && return
    fi
    BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n 1)
    [ -n "$BIN" ] && [ -x "$BIN/pg_ctl" ] && [ -x "$BIN/psql" ] ||
        die "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin; install postgresql (make deps)"
}

# The folder as an absolute path; created for start, required otherwise.
resolve_dir() {
    if [ "$CMD" = start ] || [ "$CMD" = restart ]; then
        mkdir -p "$DIR_ARG" || die "cannot create $DIR_ARG"
    fi
    [ -d "$DIR_ARG" ] || die "$DIR_ARG: no such folder (start the cluster first)"
    DIR=$(cd "$DIR_ARG" && pwd -P)
    case $DIR in
    *[!A-Za-z0-9_./+@%=,:-]*)
        die "$DIR: use a folder path of letters, digits and ._/+-@%=,: only (it goes into the server's configuration and the conninfo)" ;;
    esac
    # A Unix socket path holds at most 107 bytes.
    sock="$DIR/run/.s.PGSQL.$PORT"
    [ ${#sock} -le 100 ] || die "$DIR: path too long for a Unix socket ($sock); use a shorter folder"
    DATA=$DIR/data
    RUN=$DIR/run
    LOG=$DIR/postgres.log
}

# Runs a command as the cluster's owner: postgres when we are root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

conninfo() {
    echo "host=$RUN port=$PORT dbname=$DBNAME user=$PGUSER_NAME"
}

is_running() {
    [ -f "$DATA/PG_VERSION" ] || return 1
    as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

prepare_owner() {
    if [ "$(id -u)" -ne 0 ]; then
        return
    fi
    id postgres >/dev/null 2>&1 || die "running as root, but there is no postgres user to run the server as"
    chown postgres:postgres "$DIR"
    [ -d "$RUN" ] && chown postgres:postgres "$RUN"
    [ -f "$LOG" ] && chown postgres:postgres "$LOG"
    runuser -u postgres -- test -w "$DIR" -a -x "$DIR" ||
        die "$DIR: the postgres user cannot write here; make every parent folder traversable (chmod o+x) or use another folder"
}

do_init() {
    echo "$PROG: initdb in $DATA" >&2
    as_owner "$BIN/initdb" -D "$DATA" -U "$PGUSER_NAME" --auth=trust -E UTF8 --locale=C \
        >>"$LOG" 2>&1 || die "initdb failed; see $LOG"
    cat >>"$DATA/postgresql.conf" <<EOF

# pg-local.sh: a private cluster reachable only through DIR/run
listen_addresses = ''
unix_socket_directories = '$RUN'
unix_socket_permissions = 0777
port = $PORT
fsync = on
synchronous_commit = on
max_connections = 50
EOF
}

do_start() {
    prepare_owner
    if is_running; then
        conninfo
        return
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
        [ ! -e "$DATA" ] || [ -z "$(ls -A "$DATA" 2>/dev/null)" ] ||
            die "$DATA exists but is not a PostgreSQL cluster; move it away"
        : >>"$LOG"
        prepare_owner
        do_init
    fi
    mkdir -p "$RUN"
    chmod 0755 "$RUN"
    prepare_owner
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null 2>&1 ||
        die "the server did not start; the end of $LOG says: $(tail -n 3 "$LOG" 2>/dev/null | tr '\n' ' ')"
    # pg_ctl -w returns once the server accepts connections; create the
    # database if this is its first start.
    if ! "$BIN/psql" -X -q -h "$RUN" -p $PORT -U $PGUSER_NAME -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'" 2>>"$LOG" | grep -q 1; then
        "$BIN/createdb" -h "$RUN" -p $PORT -U $PGUSER_NAME -E UTF8 $DBNAME 2>>"$LOG" ||
            die "createdb $DBNAME failed; see $LOG"
    fi
    conninfo
}

do_stop() {
    if ! is_running; then
        echo "$PROG: $DIR: not running" >&2
        return
    fi
    as_owner "$BIN/pg_ctl" -D "$DATA" -m "$1" -w -t 60 stop >/dev/null 2>&1 ||
        die "the server did not stop; see $LOG"
}

find_bin
resolve_dir
case $CMD in
start) do_start ;;
stop) do_stop fast ;;
kill) do_stop immediate ;;
restart)
    do_stop fast
    do_start
    ;;
status)
    if is_running; then
        echo running
    else
        echo stopped
        exit 3
    fi
    ;;
conninfo)
    [ -f "$DATA/PG_VERSION" ] || die "$DIR: no cluster here (run start first)"
    conninfo
    ;;
*) usage ;;
esac
