#!/bin/sh
# bench-smoke.sh: the benchmarks must not rot (issue 18 item 7). One round
# of bench/run.sh's tests (start-up, exits, the memory-bound guest: TESTS
# "boot exits mem") on the bed tools/test.sh uses, every VMM of the bed
# (measure.sh's default lists: boot on qvm, the raw-KVM floor, QEMU -M
# microvm and -M pc; exits on qvm, raw and microvm; mem on qvm and
# microvm), no README written and no target asserted. The check is on
# measure.sh's raw lines: every VMM ran every test (a line each), none
# failed (ok=0) except runs during which L1 stalled (stalled=1: lab-run
# woke it; not a measurement, and not a failure of the benchmark), and
# the report was made. Then, always in the lab (its own L1 boot: stock
# Linux needs it), one round of bench/net.sh on the tap with qvm and QEMU
# (1 MiB each way, 50 round trips; the guest-to-guest link is left out:
# two more Linux boots): each measured all three (stalled or not) and
# none failed. NET=0 skips it. First, bench/netpath (the virtio-net frame
# path that bench/netpath.sh counts under callgrind; no KVM) runs a few
# hundred frames each way, plain: every frame must arrive, none dropped.
# Usage: tools/bench-smoke.sh [BUILD_DIR]
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-build}
out=$(mktemp) raw=$(mktemp)
trap 'rm -f "$out" "$raw"' EXIT
fail() {
    echo "bench smoke: $*"
    tail -n 40 "$out"
    [ -s "$raw" ] && cat "$raw"
    exit 1
}
for c in "rx 300 60 1" "rx 300 1514 8" "rx 50 65000 1 gso" "tx 300 60 1" \
    "tx 50 65000 1 gso"; do
    "$build/bench/netpath" $c >"$out" 2>&1 || fail "bench/netpath $c"
done
TESTS='boot exits mem' bench/run.sh --runs 1 --no-readme --build "$build" \
    --raw "$raw" >"$out" 2>&1 || fail "bench/run.sh exited $?"
grep -q '^| metric | VMM | runs' "$out" || fail "no report"
# measure.sh's warm-up lines are not in the raw file: rounds only
for tv in boot:qvm boot:raw boot:microvm boot:pc exits:qvm exits:raw \
    exits:microvm mem:qvm mem:microvm; do
    t=${tv%%:*} v=${tv#*:}
    grep -q "^@@BENCH $t $v " "$raw" || fail "no run of $v in '$t'"
done
bad=$(grep ' ok=0' "$raw" | grep -v 'stalled=1')
[ -z "$bad" ] || fail "a run failed: $bad"
n=$(grep -c 'stalled=1' "$raw")
grep '^| ' "$out"
echo "bench smoke: every VMM ran every test ($n run(s) during an L1 stall, not measured)"
[ "${NET:-1}" != 0 ] || exit 0
bench/net.sh --rounds 1 --reps 1 --bytes 1048576 --count 50 --links tap \
    --vmms 'qvm qemu' --no-readme --build "$build" --console "$raw" \
    >"$out" 2>&1 || fail "bench/net.sh exited $?"
grep -q '^| VMM | send to the guest' "$out" || fail "no net report"
for v in qvm qemu; do
    for op in send recv rr; do
        grep -q "^@@BENCH net tap $v 1 op=$op " "$raw" || fail "net: no $op under $v"
    done
done
! grep -q '^@@BENCH net-fail' "$raw" || fail "net: a run failed"
grep '^| ' "$out"
echo "bench smoke: net: qvm and QEMU measured on the tap"
