#!/bin/sh
# test-lab-arm64.sh: the aarch64 lab end to end (four L1 boots): lab-run
# --arch aarch64 returns entry.sh's status and L1 is an aarch64 machine whose
# /dev/kvm runs kvm-probe-arm64's guest (an MMIO exit, then PSCI
# SYSTEM_OFF); its watchdog ends an L1 that stops making progress;
# mk-initramfs refuses x86 and dynamically linked programs; tools/qvm-lab
# --arch aarch64 copies the files a configuration names and relays qvm's
# exit status; tests/vm/run-vm-tests --arch aarch64 runs the real
# cases-arm64/probe.sh and contract cases in L1 and names the bed "nested
# lab (aarch64)". kvm-probe-arm64 is built here with aarch64-linux-gnu-gcc
# -static, so no aarch64 build of qvm is needed.
# Exits 77 (skip) when the lab or the cross compiler is missing, unless
# CI=true.
# Usage: test-lab-arm64.sh
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/test-lab-arm64.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() {
    echo "FAIL: $*"
    [ ! -f "$T/out" ] || sed 's/^/    | /' "$T/out"
    exit 1
}
skip() {
    [ "${CI:-}" = true ] && fail "$* (CI=true)"
    echo "SKIP: $*"
    exit 77
}
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 ||
    skip "no aarch64-linux-gnu-gcc (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross)"
"$HERE/fetch.sh" --arch aarch64 >/dev/null || skip "the aarch64 lab cannot be set up"

mkdir -p "$T/bin"
PROBE=$T/bin/kvm-probe
aarch64-linux-gnu-gcc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static \
    -o "$PROBE" "$REPO/tools/kvm-probe-main.c" "$REPO/tools/kvm-probe-arm64.c" >"$T/out" 2>&1 ||
    fail "cannot build kvm-probe-arm64"

# 1. lab-run: entry.sh's status comes back; L1 is aarch64; kvm-probe-arm64
# runs its guest on L1's /dev/kvm; the bed's start-to-end time is shown.
mkdir -p "$T/p/bin"
cp "$PROBE" "$T/p/bin/kvm-probe"
printf 'uname -m\nbin/kvm-probe || exit 1\nexit 42\n' >"$T/p/entry.sh"
rc=0
start=$(date +%s)
"$HERE/lab-run" --arch aarch64 --timeout 300 "$T/p" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 42 ] || fail "lab-run returned $rc, not entry.sh's 42"
grep -qx 'aarch64' "$T/out" || fail "L1 is not an aarch64 machine"
grep -q '^kvm-probe: usable (.*MMIO exit, then PSCI SYSTEM_OFF' "$T/out" ||
    fail "kvm-probe-arm64 did not find L1's /dev/kvm usable"
echo "ok: lab-run --arch aarch64 ($(($(date +%s) - start)) s)"

# 1b. the progress watchdog: a payload that promises progress within 5 s
# and then goes silent is killed well before the hard timeout, and L1's CPU
# state (aarch64 registers) is shown.
mkdir -p "$T/w"
printf 'echo "@@QVM-LAB WATCHDOG 5"\nsleep 200\n' >"$T/w/entry.sh"
rc=0
QVM_LAB_STARTED_FILE=$T/started "$HERE/lab-run" --arch aarch64 --timeout 300 "$T/w" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 124 ] || fail "stalled payload: lab-run returned $rc, want 124"
grep -q '^lab-run: watchdog: L1 made no progress in 5s' "$T/out" || fail "no watchdog message"
grep -q '^lab-run: | *PC=' "$T/out" || fail "no L1 CPU state"
started=$(cat "$T/started" 2>/dev/null || echo 0)
[ "$started" -gt 0 ] || fail "lab-run did not say when L1 started"
[ $(($(date +%s) - started)) -lt 120 ] ||
    fail "the watchdog took $(($(date +%s) - started)) s after L1 started"
echo "ok: lab-run --arch aarch64 watchdog"

# 1c. mk-initramfs (no boot): an x86 program, or a dynamically linked
# aarch64 one, cannot run in the aarch64 lab and is refused by name.
mkdir -p "$T/x/bin" "$T/d/bin"
echo 'exit 0' >"$T/x/entry.sh"
cp "$T/x/entry.sh" "$T/d/entry.sh"
cp "$(command -v gzip)" "$T/x/bin/x86prog"
aarch64-linux-gnu-gcc -O2 -o "$T/d/bin/dynprog" "$REPO/tools/kvm-probe-main.c" "$REPO/tools/kvm-probe-arm64.c" \
    -D_GNU_SOURCE >"$T/out" 2>&1 || fail "cannot build a dynamic aarch64 program"
C=$("$HERE/fetch.sh" --arch aarch64)
rc=0
"$HERE/mk-initramfs.sh" --arch aarch64 "$C" "$T/x.cpio.gz" "$T/x" >"$T/out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'x86prog is not an aarch64 program' "$T/out" ||
    fail "mk-initramfs took an x86 program into the aarch64 lab"
rc=0
"$HERE/mk-initramfs.sh" --arch aarch64 "$C" "$T/d.cpio.gz" "$T/d" >"$T/out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'dynprog is dynamically linked' "$T/out" ||
    fail "mk-initramfs took a dynamically linked program into the aarch64 lab"
echo "ok: mk-initramfs --arch aarch64 refuses what cannot run"

# 2. qvm-lab --arch aarch64, with a stand-in qvm that lists what it finds,
# says which machine it runs on and exits 7.
mkdir -p "$T/build/tools" "$T/work/sub"
cp "$PROBE" "$T/build/tools/kvm-probe"
cat >"$T/build/qvm" <<'QVM'
#!/bin/sh
echo "qvm args: $*"
echo "machine: $(uname -m)"
find . -type f | sort | sed 's/^/have /'
exit 7
QVM
chmod +x "$T/build/qvm"
cat >"$T/work/vm.qvmconf" <<CONF
ram 0x40000000,128M
load sub/Image
initrd load sub/initrd.img
fdt load sub/overlay.dtb
vdev pl011 loc 0x1c090000 intr gic:37 hostdev -
CONF
for f in Image initrd.img overlay.dtb; do echo "$f" >"$T/work/sub/$f"; done
rc=0
(cd "$T/work" && QVM_BUILD=$T/build "$REPO/tools/qvm-lab" --arch aarch64 -- @vm.qvmconf dryrun) \
    >"$T/out" 2>&1 || rc=$?
[ "$rc" = 7 ] || fail "qvm-lab --arch aarch64 returned $rc, not qvm's 7"
grep -qx "qvm args: @vm.qvmconf dryrun" "$T/out" || fail "qvm-lab changed qvm's arguments"
grep -qx "machine: aarch64" "$T/out" || fail "qvm-lab did not run qvm in the aarch64 lab"
for f in vm.qvmconf sub/Image sub/initrd.img sub/overlay.dtb; do
    grep -qx "have ./$f" "$T/out" || fail "qvm-lab did not copy $f"
done
! grep -q '@@QVM-LAB' "$T/out" || fail "qvm-lab relayed L1's markers"
# An x86 qvm is refused before any boot.
mkdir -p "$T/x86build"
cp "$(command -v gzip)" "$T/x86build/qvm"
rc=0
(cd "$T/work" && QVM_BUILD=$T/x86build "$REPO/tools/qvm-lab" --arch aarch64 -- @vm.qvmconf) \
    >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'x86build/qvm is not an aarch64 program' "$T/out" ||
    fail "qvm-lab --arch aarch64 took an x86 qvm"
echo "ok: qvm-lab --arch aarch64"

# 3. run-vm-tests --arch aarch64 (bed auto: on this x86 host, the aarch64
# lab): the real probe case with the stand-in build's kvm-probe-arm64, a
# case checking the contract's environment under busybox ash, a failing
# one and one over its limit.
mkdir -p "$T/cases" "$T/build/tests/guests"
echo guest >"$T/build/tests/guests/g.elf"
cp "$REPO/tests/vm/cases-arm64/probe.sh" "$T/cases/"
cat >"$T/cases/env.sh" <<'CASE'
set -e
[ "$QVM" = /payload/bin/qvm ] && [ -x "$QVM" ]
[ -f "$GUESTS/g.elf" ] && [ -d "$CONFIGS" ] && [ -d "$TMPDIR" ]
[ "$(pwd)" = /payload ] && [ -f cases/env.sh ] && [ -c /dev/kvm ]
[ "$(uname -m)" = aarch64 ]
[ "$CI" = lab-test ]
CASE
printf 'echo FAILMARK; exit 5\n' >"$T/cases/fails.sh"
printf '# timeout: 3\nsleep 100 &\nsleep 100\n' >"$T/cases/slow.sh"
rc=0
CI=lab-test "$REPO/tests/vm/run-vm-tests" --arch aarch64 --cases-dir "$T/cases" \
    "$T/build" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "run-vm-tests --arch aarch64 returned $rc, want 1"
grep -qx 'kvm bed: nested lab (aarch64)' "$T/out" || fail "no 'kvm bed: nested lab (aarch64)' line"
grep -qx 'ok - probe' "$T/out" || fail "no 'ok - probe' line"
grep -qx 'ok - env' "$T/out" || fail "the case environment is wrong in L1"
grep -qx 'not ok - fails' "$T/out" || fail "no 'not ok - fails' line"
grep -qx 'not ok - slow' "$T/out" || fail "no 'not ok - slow' line"
grep -q '^# ---- slow: .*timed out after 3 s' "$T/out" || fail "the case limit did not work in L1"
grep -q 'FAILMARK' "$T/out" || fail "a failing case's output is not shown"
grep -q '# ---- console around fails' "$T/out" || fail "no L1 console for a failure"
[ "$(tail -n 1 "$T/out")" = 'vm-tests: 2 passed, 2 failed, 0 skipped' ] ||
    fail "wrong summary line"
echo "ok: run-vm-tests --arch aarch64 ($(sed -n 's/^# lab bed: \(.*\) in all$/\1/p' "$T/out"))"
echo "PASS: aarch64 lab"
