#!/bin/sh
# bench-api.sh - the reservation API under load: a throwaway PostgreSQL
# (scripts/pg-local.sh, fsync and synchronous commit on), `noriai serve`
# with 100 vans on the synthetic city, 2,000 open confirmed bookings
# preloaded, then `noriai loadgen` at each rate for DURATION seconds.
#
#   scripts/bench-api.sh                       build/, rates 100 200 300, 20 s each
#   BUILD=build-x RATES="300" DURATION=10 scripts/bench-api.sh
#
# Environment: BUILD (build folder, default build), SANDIR (passed to make),
# PORT (default 18191), RATES, DURATION (s), PRELOAD (bookings, default
# 2000), THREADS (loadgen connections, default 16), KEEP=1 keeps the temp
# folder (logs, JSON of every run).
#
# Each rate runs open loop (latency from the scheduled send time) and then
# cancels what it confirmed (--cleanup), so every rate starts from the same
# preloaded plan.  Around each run the script reads /metrics (HTTP, offer
# and commit histograms) and the CPU ticks of the daemon, of PostgreSQL
# (postmaster and its children) and of loadgen, and prints where time went.
# Everything started here is stopped, and the temp folder removed, on exit.
set -eu

BUILD=${BUILD:-build}
SANDIR=${SANDIR:-build-san}
PORT=${PORT:-18191}
RATES=${RATES:-"100 200 300"}
DURATION=${DURATION:-20}
PRELOAD=${PRELOAD:-2000}
THREADS=${THREADS:-16}
KEEP=${KEEP:-0}
BIN=$BUILD/noriai
URL=http://127.0.0.1:$PORT

die() {
    echo "bench-api.sh: $*" >&2
    exit 1
}

command -v curl >/dev/null 2>&1 || die "curl is needed"
command -v jq >/dev/null 2>&1 || die "jq is needed"

echo "== build ($BUILD/noriai)"
make --no-print-directory BUILD="$BUILD" SANDIR="$SANDIR" "$BUILD/noriai" >/dev/null ||
    die "the build failed"

TMP=$(mktemp -d /tmp/noriai-bench-XXXXXX)
chmod 0711 "$TMP" # PostgreSQL runs as postgres when we are root
SERVE_PID=
cleanup() {
    set +e
    if [ -n "$SERVE_PID" ]; then
        kill -TERM "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
    fi
    scripts/pg-local.sh stop "$TMP/pg" >/dev/null 2>&1
    if [ "$KEEP" = 1 ]; then
        echo "== kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== PostgreSQL in $TMP/pg"
CI=$(scripts/pg-local.sh start "$TMP/pg")
PG_PID=$(head -n 1 "$TMP/pg/data/postmaster.pid")

cat >"$TMP/config.json" <<EOF
{
  "comment": "bench-api.sh: 100 vans of 8 seats on the synthetic city, no re-plans",
  "area": {"synthetic": {"seed": 7, "size": "city"}},
  "fleet": [{"id": "van", "count": 100, "configs": [{"seats": 8, "wheelchairs": 0}],
             "shift": ["06:00", "23:00"]}],
  "service": {"hours": ["06:00", "23:00"], "max_wait_min": 60},
  "replan": {"interval_s": 0}
}
EOF

echo "== noriai serve on $URL (100 vans, clock 07:00)"
"$BIN" serve --config "$TMP/config.json" --database "$CI" --listen "127.0.0.1:$PORT" \
    --clock 07:00 --log-level warn --demo-tokens "$TMP/tokens.json" >"$TMP/serve.log" 2>&1 &
SERVE_PID=$!
i=0
until curl -fs "$URL/v1/health" >/dev/null 2>&1; do
    i=$((i + 1))
    kill -0 "$SERVE_PID" 2>/dev/null || die "the daemon exited: $(tail -n 5 "$TMP/serve.log")"
    [ $i -lt 600 ] || die "the daemon did not answer within 60 s"
    sleep 0.1
done
TOKEN=$(jq -r .operator "$TMP/tokens.json")

# SQL through psql, if there is one ("" otherwise): plan sizes and WAL.
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n 1 || true)
sql() {
    [ -n "$PSQL" ] || return 0
    "$PSQL" -X -At -d "$CI" -c "$1" 2>/dev/null || true
}

known_bookings() { # every state, cancelled ones too
    curl -fs "$URL/v1/health" | jq -r .bookings
}

# One pass over /proc: CPU ticks (utime + stime) of the daemon, of
# PostgreSQL (postmaster and its children) and of loadgen (its pid in
# $TMP/loadgen.pid), with the time: "wall_s daemon postgres loadgen".
cpu_sample() {
    w=$(date +%s.%N)
    lg=$(cat "$TMP/loadgen.pid" 2>/dev/null || echo -1)
    # cat reads on past processes that end meanwhile (mawk would stop).
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v sv="$SERVE_PID" -v pg="$PG_PID" -v lg="$lg" -v w="$w" '
        { pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " "); t = f[12] + f[13]
          if (pid == sv) d += t
          else if (pid == pg || f[2] == pg) p += t
          else if (pid == lg) l += t }
        END { print w, d + 0, p + 0, l + 0 }'
}
HZ=$(getconf CLK_TCK)

# hist FILE_BEFORE FILE_AFTER METRIC LABELFILTER: count, mean and p50/p99
# (the upper bound of the bucket holding that rank) of the difference.
hist() {
    awk -v m="$3" -v f="$4" '
        function le_of(s) { sub(/.*le="/, "", s); sub(/".*/, "", s); return s }
        FNR == 1 { file++ }
        index($0, m "_bucket") == 1 && index($0, f) > 0 {
            k = le_of($1); if (file == 1) b0[k] = $2; else { b1[k] = $2; order[++n] = k } }
        index($0, m "_sum") == 1 && index($0, f) > 0 { if (file == 1) s0 = $2; else s1 = $2 }
        index($0, m "_count") == 1 && index($0, f) > 0 { if (file == 1) c0 = $2; else c1 = $2 }
        END {
            c = c1 - c0
            if (c <= 0) { printf "n=0"; exit }
            p50 = ""; p99 = ""
            for (i = 1; i <= n; i++) {
                d = b1[order[i]] - b0[order[i]]
                if (p50 == "" && d >= 0.5 * c) p50 = order[i]
                if (p99 == "" && d >= 0.99 * c) p99 = order[i]
            }
            printf "n=%d mean=%.2fms p50<=%sms p99<=%sms", c, (s1 - s0) / c * 1000,
                p50 == "+Inf" ? p50 : p50 * 1000, p99 == "+Inf" ? p99 : p99 * 1000
        }' "$1" "$2"
}
counter() { # FILE METRIC_WITH_LABELS
    awk -v m="$2" 'index($0, m " ") == 1 { print $2 }' "$1"
}

echo "== preload: $PRELOAD confirmed bookings"
PRE_RATE=200
PRE_DUR=$(awk -v n="$PRELOAD" -v r=$PRE_RATE 'BEGIN { printf "%.3f", n / r }')
"$BIN" loadgen --url "$URL" --token "$TOKEN" --rate $PRE_RATE --duration "$PRE_DUR" \
    --riders 200 --threads "$THREADS" --cancel-share 0 --asap-share 0.05 --quiet --json \
    --seed 1 >"$TMP/preload.json" || die "preload failed"
echo "   confirmed $(jq .pairs.confirmed "$TMP/preload.json") of $PRELOAD;" \
    "bookings the daemon knows: $(known_bookings)"
echo "   stored plans: $(sql "SELECT count(*) || ' rows, ' || coalesce(avg(length(stops::text)) / 1024, 0)::int || ' KiB of JSON on average, ' || pg_size_pretty(pg_total_relation_size('plans')) || ' on disk' FROM plans")"

# Five seconds without traffic: what the daemon writes on its own (the
# 1 s tick commits whatever plans changed).
curl -fs "$URL/metrics" >"$TMP/i0"
wal0=$(sql "SELECT pg_current_wal_lsn()")
sleep 5
curl -fs "$URL/metrics" >"$TMP/i1"
wal1=$(sql "SELECT pg_current_wal_lsn()")
echo "   idle 5 s: store commit $(hist "$TMP/i0" "$TMP/i1" noriai_db_commit_duration_seconds '')${wal0:+, WAL $(sql "SELECT pg_size_pretty(pg_wal_lsn_diff('$wal1', '$wal0'))")}"

for R in $RATES; do
    echo "== rate $R pairs/s for $DURATION s ($THREADS threads, open loop)"
    # Samples (CPU, /metrics) at each progress line: from the first second
    # to the end of the schedule, so setup and the cleanup stay outside.
    rm -f "$TMP/cpu-$R"
    wal0=$(sql "SELECT pg_current_wal_lsn()")
    # (sh -c ... exec: the pid written is loadgen's own)
    { sh -c 'echo $$ >"$0"; exec "$@"' "$TMP/loadgen.pid" "$BIN" loadgen --url "$URL" --token "$TOKEN" --rate "$R" --duration "$DURATION" \
        --riders 200 --threads "$THREADS" --open-loop --cleanup --json --seed "$R" \
        2>&1 >"$TMP/run-$R.json" || echo "FAILED"; } | while IFS= read -r line; do
        case $line in
        loadgen:*)
            cpu_sample >>"$TMP/cpu-$R"
            curl -fs "$URL/metrics" >"$TMP/m.tmp" && mv "$TMP/m.tmp" "$TMP/m1"
            [ -f "$TMP/m0" ] || cp "$TMP/m1" "$TMP/m0"
            ;;
        FAILED) echo "loadgen failed" >"$TMP/failed-$R" ;;
        *) echo "   $line" ;;
        esac
    done
    [ ! -f "$TMP/failed-$R" ] || die "loadgen failed at rate $R"
    wal1=$(sql "SELECT pg_current_wal_lsn()")
    jq -r '"   achieved \(.pairs_per_s | . * 10 | round / 10) pairs/s; pair p50 \(.pair.p50_ms) ms, p90 \(.pair.p90_ms) ms, p99 \(.pair.p99_ms) ms, max \(.pair.max_ms) ms",
           "   booking p50 \(.booking.p50_ms) p99 \(.booking.p99_ms) ms; confirm p50 \(.confirm.p50_ms) p99 \(.confirm.p99_ms) ms; send lag p99 \(.send_lag.p99_ms) ms",
           "   requests \(.requests), by status \(.by_status | tostring), transport errors \(.transport_errors), missed \(.pairs.missed), refused \(.bookings.refused)"' \
        "$TMP/run-$R.json"
    echo "   daemon: POST /v1/bookings $(hist "$TMP/m0" "$TMP/m1" noriai_http_request_duration_seconds 'route="/v1/bookings"')"
    echo "           POST .../confirm  $(hist "$TMP/m0" "$TMP/m1" noriai_http_request_duration_seconds 'route="/v1/bookings/*/confirm"')"
    echo "           offer (dispatcher) $(hist "$TMP/m0" "$TMP/m1" noriai_offer_duration_seconds '')"
    echo "           store commit       $(hist "$TMP/m0" "$TMP/m1" noriai_db_commit_duration_seconds '')"
    t0=$(counter "$TMP/m0" 'noriai_db_transactions_total{outcome="committed"}')
    t1=$(counter "$TMP/m1" 'noriai_db_transactions_total{outcome="committed"}')
    g0=$(counter "$TMP/m0" noriai_db_group_commits_total)
    g1=$(counter "$TMP/m1" noriai_db_group_commits_total)
    echo "           transactions $((t1 - t0)) in $((g1 - g0)) group commits"
    head -n 1 "$TMP/cpu-$R" >"$TMP/c0"
    tail -n 1 "$TMP/cpu-$R" >"$TMP/c1"
    cat "$TMP/c0" "$TMP/c1" | awk -v hz="$HZ" '
        NR == 1 { w = $1; d = $2; p = $3; l = $4 }
        NR == 2 { w = $1 - w; if (w <= 0) exit
                  printf "   CPU over %.1f s: daemon %.0f%%, postgres %.0f%%, loadgen %.0f%% of one core (2 cores)\n",
                      w, ($2 - d) / hz / w * 100, ($3 - p) / hz / w * 100, ($4 - l) / hz / w * 100 }'
    rm -f "$TMP/m0" "$TMP/m1"
    if [ -n "$wal0" ] && [ -n "$wal1" ]; then
        echo "   WAL written during the run and its cleanup: $(sql "SELECT pg_size_pretty(pg_wal_lsn_diff('$wal1', '$wal0'))")"
    fi
    jq -r '"   left confirmed after the cleanup: \(.pairs.confirmed - .cancels - .cleanup_cancels) (\(.cancels) cancelled during the run, \(.cleanup_cancels) after it)"' \
        "$TMP/run-$R.json"
    jq -r '"summary rate=\(.rate) achieved=\(.pairs_per_s | . * 10 | round / 10) pair_p50_ms=\(.pair.p50_ms) pair_p99_ms=\(.pair.p99_ms) errors=\(.transport_errors) missed=\(.pairs.missed)"' \
        "$TMP/run-$R.json"
done
