#!/bin/sh
# campaign.sh: a long fuzzing campaign (tests/fuzz/README.md). For each
# target named (default: all), runs build-fuzz/tests/fuzz/fuzz_TARGET for
# RUNS executions (QVM_FUZZ_RUNS, default 10 million) or at most SECS
# seconds (QVM_FUZZ_MAX_SECONDS, default 7200), one job, starting from the
# committed corpus; then minimises the committed corpus and what the run
# found into tests/fuzz/corpus/TARGET (-set_cover_merge=1, -merge=1's
# set-cover form: the fewest inputs that keep every feature; hand-made
# seeds, not named by their SHA-1, are kept as they are) and prints the
# executions run and the cov/ft figures of the new corpus. Crashes are left
# in WORK/TARGET (QVM_FUZZ_WORK, default /tmp/qvm-fuzz-campaign).
#
# Two builds (QVM_FUZZ_FAST=DIR): the campaign runs DIR's binary, a fuzz
# build with coverage instrumentation only (no ASan/UBSan: several times
# faster on the device targets), then build-fuzz's ASan+UBSan binary
# replays everything it found (-runs=0: each input once, a sanitizer report
# stops it) before the merge, which that binary does too (the floors are
# its figures). What only the sanitizers see (an overflow inside an
# allocation, a bad shift) is caught by the replay, not during the search:
# an input that corrupts memory silently in the fast build is kept when it
# adds coverage, and any crash there is a bug all the same.
#   CC=clang meson setup build-fuzz-fast -Dfuzz=true -Db_lundef=false \
#       -Dguests=false
#   QVM_FUZZ_FAST=build-fuzz-fast tests/fuzz/campaign.sh [TARGET ...]
set -eu
cd "$(dirname "$0")/../.."
runs=${QVM_FUZZ_RUNS:-10000000}
secs=${QVM_FUZZ_MAX_SECONDS:-7200}
work=${QVM_FUZZ_WORK:-/tmp/qvm-fuzz-campaign}
[ $# -gt 0 ] || set -- $(tests/fuzz/targets.sh names)
fast=${QVM_FUZZ_FAST:-}
for t in "$@"; do
    bin=build-fuzz/tests/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "campaign: no $bin (ninja -C build-fuzz)" >&2; exit 1; }
    run=$bin
    if [ -n "$fast" ]; then
        run=$fast/tests/fuzz/fuzz_$t
        [ -x "$run" ] || { echo "campaign: no $run (ninja -C $fast)" >&2; exit 1; }
    fi
    dir=$work/$t
    rm -rf "$dir/new"
    mkdir -p "$dir/new"
    maxlen=$(tests/fuzz/targets.sh max_len "$t")
    # shellcheck disable=SC2046 # seed directories are words
    "$run" -runs="$runs" -max_total_time="$secs" -max_len="$maxlen" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/" "$dir/new" $(tests/fuzz/targets.sh seeds "$t") \
        >"$dir/run.log" 2>&1 || echo "campaign: $t stopped (see $dir/run.log)"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/run.log")
    if [ -n "$fast" ]; then
        # The sanitizers' pass over what the fast build found.
        "$bin" -runs=0 -max_len="$maxlen" -rss_limit_mb=2048 -timeout=10 \
            -artifact_prefix="$dir/asan-" "$dir/new" >"$dir/replay.log" 2>&1 ||
            { echo "campaign: $t: the ASan+UBSan replay failed (see $dir/replay.log)"; continue; }
        ! grep -q 'runtime error:' "$dir/replay.log" ||
            { echo "campaign: $t: UBSan report in $dir/replay.log"; continue; }
    fi
    # Minimise: the hand-made seeds (not named by their SHA-1) stay; the
    # rest is a minimal set (greedy set cover of libFuzzer's features) of
    # the committed corpus and what the campaign found.
    c=tests/fuzz/corpus/$t
    rm -rf "$dir/min"
    mkdir -p "$dir/min" "$c"
    for f in "$c"/*; do
        [ -f "$f" ] || continue
        basename "$f" | grep -Eqx '[0-9a-f]{40}' || cp "$f" "$dir/min/"
    done
    "$bin" -set_cover_merge=1 -max_len="$maxlen" "$dir/min" "$c" "$dir/new" \
        >"$dir/merge.log" 2>&1
    rm -rf "$c"
    cp -r "$dir/min" "$c"
    # shellcheck disable=SC2046
    fig=$("$bin" -runs=0 $(tests/fuzz/targets.sh seeds "$t") 2>&1 |
        sed -n 's/.*DONE *\(cov: [0-9]* ft: [0-9]*\).*/\1/p')
    echo "$t: ${execs:-?} executions; corpus $(ls tests/fuzz/corpus/"$t" | wc -l) files; $fig"
done
