#!/bin/sh
# check-cov.sh TARGET [BINARY]: the coverage (libFuzzer's cov: figure) of
# TARGET's libFuzzer binary (default build-fuzz/tests/fuzz/fuzz_TARGET) on
# its committed corpus must be at least the floor that tests/fuzz/README.md
# gives for it (the last column of its row in the campaign table). A
# lower figure means the corpus or the target lost reach.
set -eu
cd "$(dirname "$0")/../.."
t=$1
bin=${2:-build-fuzz/tests/fuzz/fuzz_$t}
floor=$(awk -F'|' -v row="\`$t\`" '
    { gsub(/ /, "", $2) }
    NF == 8 && $2 == row { v = $(NF - 1); gsub(/[^0-9]/, "", v); print v; exit }
' tests/fuzz/README.md)
[ -n "$floor" ] || { echo "check-cov: no floor for $t in tests/fuzz/README.md" >&2; exit 1; }
# shellcheck disable=SC2046 # seed directories are words
out=$("$bin" -runs=0 -rss_limit_mb=2048 -timeout=10 \
    $(tests/fuzz/targets.sh seeds "$t") 2>&1) || { echo "$out" | tail -n 40; exit 1; }
cov=$(echo "$out" | sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' | tail -n 1)
[ -n "$cov" ] || { echo "$out" | tail -n 20; echo "check-cov: no cov figure" >&2; exit 1; }
echo "check-cov: $t cov $cov (floor $floor)"
[ "$cov" -ge "$floor" ] || { echo "check-cov: $t coverage $cov is below the README's floor $floor" >&2; exit 1; }
