#!/bin/sh
# Runs every cmocka test program given, then the sanitizer builds after "--",
# and prints one summary line: "N passed, N failed".  The layering check
# (scripts/check-layers.sh) runs first and counts as one test, "layers".
BUILD=$1; SANDIR=$2; shift 2
# The CLI tests run the binary of this build, not whatever build/ holds.
NORIAI_BIN=${NORIAI_BIN:-$BUILD/noriai}; export NORIAI_BIN
passed=0; failed=0; failed_names=""
run_one() {
    label=$1; bin=$2
    out=$("$bin" 2>&1); rc=$?
    printf '%s\n' "$out" | sed "s|^|[$label] |"
    p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    p=${p:-0}; f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crash or sanitizer abort
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -ne 0 ] && failed_names="$failed_names $label"
    return 0
}
# The layering of the includes (docs/architecture.md): one test.
layers_out=$("$(dirname "$0")/check-layers.sh" 2>&1); layers_rc=$?
printf '%s\n' "$layers_out" | sed "s|^|[layers] |"
if [ "$layers_rc" -eq 0 ]; then
    passed=$((passed + 1))
else
    failed=$((failed + 1)); failed_names="$failed_names layers"
fi
mode=plain
for t in "$@"; do
    if [ "$t" = "--" ]; then
        mode=san
        # the sanitizer pass runs the integration tests against the sanitized daemon
        [ -x "$SANDIR/noriai" ] && NORIAI_BIN=$SANDIR/noriai && export NORIAI_BIN
        continue
    fi
    name=$(basename "$t")
    if [ "$mode" = san ]; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            run_one "asan+ubsan $name" "$t"
    else
        run_one "$name" "$t"
    fi
done
echo
[ -n "$failed_names" ] && echo "failing programs:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
