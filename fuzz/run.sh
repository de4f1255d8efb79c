#!/bin/sh
# Runs every libFuzzer target built in BUILD_DIR/fuzz for SECONDS each, one after
# the other, from the committed seed corpus fuzz/corpus/<target> (only read) and
# what earlier runs found (BUILD_DIR/fuzz-corpus/<target>, where new inputs go).
# Fails if any target crashes, leaks, times out or diverges from its model; the
# input that did it is left in BUILD_DIR/fuzz-crashes/. libFuzzer's closing lines
# ("Done N runs in S second(s)") are kept in the output.
# Usage: run.sh BUILD_DIR SECONDS
set -eu
build=$1 seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/fuzz-crashes"
status=0 ran=0
for bin in "$build"/fuzz/fuzz-*; do
    case $bin in *-replay) continue ;; esac
    [ -x "$bin" ] || continue
    target=${bin##*/fuzz-}
    work=$build/fuzz-corpus/$target log=$build/fuzz-$target.log
    mkdir -p "$work"
    echo "fuzz-$target: ${seconds}s"
    if "$bin" -max_total_time="$seconds" -timeout=30 -max_len=4096 -print_final_stats=1 \
            -artifact_prefix="$build/fuzz-crashes/$target-" "$work" "$here/corpus/$target" \
            >"$log" 2>&1; then
        grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' "$log" | sed "s/^/  /"
        ran=$((ran + 1))
    else
        tail -n 40 "$log"
        echo "fuzz-$target: FAILED (whole log in $log)"
        status=1
    fi
done
[ "$ran" -gt 0 ] || [ "$status" -ne 0 ] || { echo "no fuzz targets in $build/fuzz"; exit 1; }
[ "$status" -eq 0 ] && echo "$ran fuzz targets ran clean for ${seconds}s each"
exit "$status"
