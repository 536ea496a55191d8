#!/bin/sh
# campaign.sh: a long fuzzing campaign (tests/fuzz/README.md). For each
# target named (default: all), runs build-fuzz/tests/fuzz/fuzz_TARGET for
# RUNS executions (QVM_FUZZ_RUNS, default 10 million) or at most SECS
# seconds (QVM_FUZZ_MAX_SECONDS, default 7200), one job, starting from the
# committed corpus; then adds to tests/fuzz/corpus/TARGET the inputs that
# cover what the committed ones do not (-merge=1: a minimal set) and prints
# the executions run and the cov/ft figures of the new corpus. Crashes are left
# in WORK/TARGET (QVM_FUZZ_WORK, default /tmp/qvm-fuzz-campaign).
#   tests/fuzz/campaign.sh [TARGET ...]
set -eu
cd "$(dirname "$0")/../.."
runs=${QVM_FUZZ_RUNS:-10000000}
secs=${QVM_FUZZ_MAX_SECONDS:-7200}
work=${QVM_FUZZ_WORK:-/tmp/qvm-fuzz-campaign}
[ $# -gt 0 ] || set -- $(tests/fuzz/targets.sh names)
for t in "$@"; do
    bin=build-fuzz/tests/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "campaign: no $bin (ninja -C build-fuzz)" >&2; exit 1; }
    dir=$work/$t
    rm -rf "$dir/new"
    mkdir -p "$dir/new"
    maxlen=$(tests/fuzz/targets.sh max_len "$t")
    # shellcheck disable=SC2046 # seed directories are words
    "$bin" -runs="$runs" -max_total_time="$secs" -max_len="$maxlen" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$dir/" "$dir/new" $(tests/fuzz/targets.sh seeds "$t") \
        >"$dir/run.log" 2>&1 || echo "campaign: $t stopped (see $dir/run.log)"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/run.log")
    # keep the committed files; add what the campaign found that they lack
    mkdir -p tests/fuzz/corpus/"$t"
    "$bin" -merge=1 -max_len="$maxlen" tests/fuzz/corpus/"$t" "$dir/new" \
        >"$dir/merge.log" 2>&1
    # shellcheck disable=SC2046
    fig=$("$bin" -runs=0 $(tests/fuzz/targets.sh seeds "$t") 2>&1 |
        sed -n 's/.*DONE *\(cov: [0-9]* ft: [0-9]*\).*/\1/p')
    echo "$t: ${execs:-?} executions; corpus $(ls tests/fuzz/corpus/"$t" | wc -l) files; $fig"
done
