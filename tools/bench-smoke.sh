#!/bin/sh
# bench-smoke.sh: the benchmarks must not rot (issue 18 item 7). One round
# of bench/run.sh's tests (start-up, exits, the memory-bound guest: TESTS
# "boot exits mem") on the bed tools/test.sh uses, every VMM of the bed
# (qvm, the raw-KVM floor, QEMU -M microvm and -M pc), no README written
# and no target asserted: the check is that every row of the report has a
# measurement, i.e. every VMM booted every guest and the report was made.
# Usage: tools/bench-smoke.sh [BUILD_DIR]
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-build}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
TESTS='boot exits mem' bench/run.sh --runs 1 --no-readme --build "$build" >"$out" 2>&1
rc=$?
fail() {
    echo "bench smoke: $*"
    tail -n 40 "$out"
    exit 1
}
[ "$rc" -eq 0 ] || fail "bench/run.sh exited $rc"
rows=$(grep -c '^| [a-z].* | [0-9]' "$out")
[ "$rows" -ge 12 ] || fail "only $rows measured rows in the report"
# a VMM whose run failed shows "0" runs or "(+N failed)"
if grep -E '^\| [^|]+ \| [^|]+ \| (0|[0-9]+ \(\+[0-9]+ failed\)) \|' "$out"; then
    fail "a run failed (above)"
fi
for m in 'exec to first guest output' 'exec to exit after power-off' \
    'peak RSS' 'per port-I/O exit' 'guest memory'; do
    grep -q "^| [^|]*$m[^|]* | qvm | 1 |" "$out" || fail "no qvm row for '$m'"
done
grep '^| ' "$out"
echo "bench smoke: $rows rows measured"
