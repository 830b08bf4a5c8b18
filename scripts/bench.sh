#!/usr/bin/env bash
# bench.sh - solver quality on the published benchmarks (`make bench`).
#
# Solves every instance of the Cordeau DARP sets (a, b: cordeau2006; pr:
# cordeau_laporte2003) and of the Li & Lim PDPTW set (100 tasks; 200 with
# BENCH=full) with build/noriai, one instance at a time, checks each result
# with the independent checker (`noriai check`, "OK <cost> <vehicles>"),
# compares it with the best known solutions in bks.csv and prints a table and
# one summary line per group:
#
#   darp-a: mean gap 0.42% (16/16 feasible)
#   lilim-100: 30/37 with BKS vehicles, mean distance gap 1.2% where vehicles match (37/37 feasible)
#
# Gap = (cost - bks) / bks * 100.  Li & Lim is hierarchical (vehicles first,
# then distance), so its distance gap is averaged only where the vehicle count
# equals the BKS.  Mean gaps are over feasible results.
#
# Environment:
#   BENCH_TIME    seconds per instance (default 10)
#   BENCH=full    adds li_lim_200
#   BENCH_SET     darp | lilim | all (default all)
#   BENCH_FILTER  instance names to run, separated by commas or spaces; each a
#                 shell glob matched against the whole name (a2-16, 'a*',
#                 'lc1*'), or an extended regex when prefixed with '~'
#                 ('~^(a|b)2-')
#   NORIAI_SHARED the shared folder holding bench/ (default ../shared)
#   NORIAI_BIN    the binary (default build/noriai)
#
# Output goes to bench-results/<timestamp>/: one solution JSON and log per
# instance, results.csv and summary.txt.  Exits 1 if any instance failed or
# its result did not pass the checker, 2 on a setup error.

set -u

die() {
    echo "bench.sh: $*" >&2
    exit 2
}

root=$(cd "$(dirname "$0")/.." && pwd) || die "cannot find the repository root"
cd "$root" || die "cannot enter $root"

shared=${NORIAI_SHARED:-../shared}
bench="$shared/bench"
{ [ -d "$bench/darp" ] && [ -d "$bench/pdptw" ]; } ||
    die "benchmark folder not found at $bench (set NORIAI_SHARED to the shared folder)"
bin=${NORIAI_BIN:-build/noriai}
[ -x "$bin" ] || die "$bin not found or not executable (run make first)"
limit=${BENCH_TIME:-10}
awk -v t="$limit" 'BEGIN { exit !(t ~ /^[0-9]+(\.[0-9]*)?$/ && t + 0 > 0) }' ||
    die "BENCH_TIME must be a positive number of seconds, got \"$limit\""
set_sel=${BENCH_SET:-all}
case $set_sel in
darp | lilim | all) ;;
*) die "BENCH_SET must be darp, lilim or all, got \"$set_sel\"" ;;
esac
filter=${BENCH_FILTER:-}
darp_bks="$bench/darp/bks.csv"
lilim_bks="$bench/pdptw/bks.csv"
{ [ -r "$darp_bks" ] && [ -r "$lilim_bks" ]; } || die "bks.csv missing under $bench"

# A hung run must not stall the whole bench: generous wall-clock cap.
cap=$(awk -v t="$limit" 'BEGIN { printf "%d", t * 3 + 60 }')
have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1

matches() { # name -> 0 if BENCH_FILTER selects it
    local name=$1 pat pats
    [ -z "$filter" ] && return 0
    IFS=', ' read -r -a pats <<<"$filter"
    for pat in "${pats[@]}"; do
        if [ "${pat:0:1}" = "~" ]; then
            [[ $name =~ ${pat:1} ]] && return 0
        else
            # shellcheck disable=SC2053 # the pattern is meant as a glob
            [[ $name == $pat ]] && return 0
        fi
    done
    return 1
}

# The instance list: "group file" entries.
items=()
add_dir() { # group dir [prefix]
    local group=$1 dir=$2 prefix=${3:-} f name
    [ -d "$dir" ] || die "instance folder $dir not found"
    for f in "$dir/$prefix"*.txt; do
        [ -e "$f" ] || continue
        name=$(basename "$f" .txt)
        matches "$name" && items+=("$group $f")
    done
}
if [ "$set_sel" != lilim ]; then
    add_dir darp-a "$bench/darp/cordeau2006" a
    add_dir darp-b "$bench/darp/cordeau2006" b
    add_dir darp-pr "$bench/darp/cordeau_laporte2003"
fi
if [ "$set_sel" != darp ]; then
    add_dir lilim-100 "$bench/pdptw/li_lim_100"
    [ "${BENCH:-}" = full ] && add_dir lilim-200 "$bench/pdptw/li_lim_200"
fi
total=${#items[@]}
[ "$total" -gt 0 ] || die "no instance matches (BENCH_SET=$set_sel BENCH_FILTER=$filter)"

stamp=$(date +%Y%m%d-%H%M%S)
out="bench-results/$stamp"
n=1
while [ -e "$out" ]; do
    n=$((n + 1))
    out="bench-results/$stamp-$n"
done
mkdir -p "$out" || die "cannot create $out"
csv="$out/results.csv"
summary="$out/summary.txt"

bks_of() { # group name -> "vehicles bks" ("- bks" for darp, "- -" if unknown)
    local group=$1 name=$2
    case $group in
    darp-*) awk -F, -v n="$name" '$1 == n { print "-", $2; f = 1 } END { if (!f) print "- -" }' \
        "$darp_bks" ;;
    *) awk -F, -v n="$name" '$1 == n { print $3, $4; f = 1 } END { if (!f) print "- -" }' \
        "$lilim_bks" ;;
    esac
}

now() { date +%s.%N; }

row() {
    printf '%-10s %-10s %8s %12s %14s %8s %8s %8s\n' "$@"
}
header=$(row group instance vehicles cost bks "gap %" feasible seconds)
echo "noriai bench: $total instances, $limit s each, results in $out"
echo "$header"
echo "group,instance,vehicles,cost,bks_vehicles,bks,gap_pct,feasible,seconds,note" >"$csv"

failures=0
for item in "${items[@]}"; do
    group=${item%% *}
    file=${item#* }
    name=$(basename "$file" .txt)
    sol="$out/$name.json"
    log="$out/$name.log"
    t0=$(now)
    if [ $have_timeout = 1 ]; then
        timeout "$cap" "$bin" solve "$file" --time-limit "$limit" --seed 1 --out "$sol" \
            >"$log" 2>&1 </dev/null
    else
        "$bin" solve "$file" --time-limit "$limit" --seed 1 --out "$sol" >"$log" 2>&1 </dev/null
    fi
    rc=$?
    t1=$(now)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    vehicles=- cost=- feasible=no note=
    if [ $rc -ne 0 ] || [ ! -s "$sol" ]; then
        if [ $rc -eq 124 ] && [ $have_timeout = 1 ]; then
            note="solve killed after $cap s"
        else
            note="solve failed (exit $rc): $(tail -n 1 "$log" 2>/dev/null)"
        fi
    else
        verdict=$("$bin" check "$file" "$sol" 2>>"$log" </dev/null)
        case $verdict in
        "OK "*)
            read -r _ cost vehicles <<<"$verdict"
            feasible=yes
            ;;
        *) note=${verdict:-"check printed nothing (see $log)"} ;;
        esac
    fi
    read -r bks_veh bks <<<"$(bks_of "$group" "$name")"
    gap=-
    if [ $feasible = yes ] && [ "$bks" != - ]; then
        gap=$(awk -v c="$cost" -v b="$bks" 'BEGIN {
            g = (c - b) / b * 100
            if (g > -0.005 && g < 0.005) g = 0 # no "-0.00" against 2-decimal BKS
            printf "%.2f", g
        }')
    fi
    [ $feasible = yes ] || failures=$((failures + 1))
    shown_bks=$bks
    [ "$bks_veh" != - ] && shown_bks="$bks_veh/$bks"
    row "$group" "$name" "$vehicles" "$cost" "$shown_bks" "$gap" "$feasible" "$secs"
    [ -n "$note" ] && echo "    $note"
    note=${note//,/;}
    note=${note//$'\n'/ }
    echo "$group,$name,$vehicles,$cost,$bks_veh,$bks,$gap,$feasible,$secs,$note" >>"$csv"
done

# One line per group, in the order the groups were run.
awk -F, -v limit="$limit" '
NR == 1 { next }
{
    g = $1
    if (!(g in n)) { order[++groups] = g }
    n[g]++
    if ($8 != "yes") { next }
    ok[g]++
    if ($6 == "-") { next }
    if (g ~ /^darp/) {
        sum[g] += $7; cnt[g]++
    } else if ($3 + 0 == $5 + 0) {
        match_[g]++; sum[g] += $7; cnt[g]++
    } else if ($3 + 0 < $5 + 0) {
        fewer[g]++
    }
}
END {
    for (k = 1; k <= groups; k++) {
        g = order[k]
        mean = cnt[g] ? sprintf("%.2f%%", sum[g] / cnt[g]) : "n/a"
        if (g ~ /^darp/) {
            printf "%s: mean gap %s (%d/%d feasible)\n", g, mean, ok[g], n[g]
        } else {
            extra = fewer[g] ? sprintf(", %d with FEWER vehicles than the BKS", fewer[g]) : ""
            printf "%s: %d/%d with BKS vehicles%s, mean distance gap %s where vehicles match " \
                   "(%d/%d feasible)\n", g, match_[g] + 0, n[g], extra, mean, ok[g] + 0, n[g]
        }
    }
    printf "time limit %s s per instance, seed 1\n", limit
}' "$csv" >"$summary"

echo
cat "$summary"
echo "results: $csv"
[ $failures -eq 0 ] || {
    echo "bench.sh: $failures instance(s) failed or did not pass the checker" >&2
    exit 1
}
exit 0
