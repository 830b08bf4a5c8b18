#!/bin/sh
# bench-area.sh - service-area benchmarks on the shared OSM extracts.
#
#   scripts/bench-area.sh [BUILD]        (BUILD: folder holding noriai, default build)
#
# 1. `noriai area build` for each extract in $NORIAI_SHARED/data/osm (else
#    ../shared/data/osm) with automatic stops on a 400 m road grid, 2 threads:
#    wall time and peak memory from /usr/bin/time -v;
# 2. the matrix between all Liechtenstein bus stops (--osm-bus-stops) on 2
#    threads, timed inside the process (bench-matrix --stops);
# 3. a 1,000 x 1,000 matrix between random nodes of the Monaco graph on 2
#    threads (bench-matrix; target: under 5 s).
# Each is run BENCH_RUNS times (default 3); medians are printed.
set -eu

BUILD=${1:-build}
BIN=$BUILD/noriai
SHARED=${NORIAI_SHARED:-../shared}
OSM=$SHARED/data/osm
RUNS=${BENCH_RUNS:-3}

if [ ! -x "$BIN" ]; then
    echo "bench-area: $BIN not found; run make first" >&2
    exit 2
fi
if [ ! -d "$OSM" ]; then
    echo "bench-area: $OSM not found; set NORIAI_SHARED" >&2
    exit 2
fi
TMP=$(mktemp -d /tmp/noriai-bench-area-XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# field NAME of a /usr/bin/time -v report
tv_field() {
    sed -n "s/^[[:space:]]*$1: //p" "$2"
}

# Elapsed "h:mm:ss" or "m:ss.ss" in seconds.
to_seconds() {
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f\n", s }'
}

echo "== noriai area build (automatic stops, 2 threads), median of $RUNS runs =="
printf '%-28s %9s %12s %8s %8s %6s %10s\n' extract wall_s peak_rss_MB nodes edges stops matrix_s
for f in "$OSM"/*.osm.pbf; do
    name=$(basename "$f" .osm.pbf)
    : > "$TMP/wall"
    : > "$TMP/rss"
    : > "$TMP/mat"
    r=1
    while [ "$r" -le "$RUNS" ]; do
        rm -rf "$TMP/out"
        /usr/bin/time -v -o "$TMP/tv" "$BIN" area build --osm "$f" --threads 2 --out "$TMP/out" \
            > "$TMP/stdout" 2> "$TMP/stderr" || {
            echo "bench-area: build of $f failed:" >&2
            cat "$TMP/stderr" >&2
            exit 1
        }
        tv_field "Elapsed (wall clock) time (h:mm:ss or m:ss)" "$TMP/tv" | to_seconds >> "$TMP/wall"
        tv_field "Maximum resident set size (kbytes)" "$TMP/tv" >> "$TMP/rss"
        sed -n 's/^area: matrix [0-9]* x [0-9]* in \([0-9.]*\) s$/\1/p' "$TMP/stderr" >> "$TMP/mat"
        r=$((r + 1))
    done
    counts=$(sed -n 's/.*, \([0-9]*\) nodes, \([0-9]*\) edges, \([0-9]*\) stops.*/\1 \2 \3/p' \
        "$TMP/stdout")
    set -- $counts
    printf '%-28s %9s %12s %8s %8s %6s %10s\n' "$name" "$(median < "$TMP/wall")" \
        "$(median < "$TMP/rss" | awk '{ printf "%.1f", $1 / 1024 }')" "$1" "$2" "$3" \
        "$(median < "$TMP/mat")"
done

echo
echo "== matrix between all Liechtenstein bus stops, 2 threads =="
"$BIN" area build --osm "$OSM/liechtenstein.osm.pbf" --osm-bus-stops --threads 2 --quiet \
    --out "$TMP/li"
"$BIN" area bench-matrix "$TMP/li" --stops --threads 2 --repeat "$RUNS"

echo
echo "== 1,000 x 1,000 matrix on random nodes of the Monaco graph, 2 threads (target < 5 s) =="
"$BIN" area bench-matrix --osm "$OSM/monaco.osm.pbf" --nodes 1000 --threads 2 --repeat "$RUNS"
