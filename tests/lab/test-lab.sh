#!/bin/sh
# test-lab.sh: the nested lab end to end (five L1 boots, ~45 s): lab-run
# returns entry.sh's status and L1 has a /dev/kvm that runs kvm-probe's guest;
# lab-run --iommu boots the IOMMU lab (edu, virtio-rng-pci and NVMe bound to
# vfio-pci, each alone in its group, /dev/vfio/N, the IOMMU on, KVM still
# there);
# its watchdog ends an L1 that stops making progress;
# tools/qvm-lab copies the files a configuration names and relays qvm's exit
# status; tests/vm/run-vm-tests --bed lab runs a case in L1 and reports it,
# and brings the files it exports back to its host check (on the console).
# Exits 77 (skip) when the lab cannot be set up, unless CI=true.
# Usage: test-lab.sh KVM_PROBE (the built tools/kvm-probe)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PROBE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$(mktemp -d "${TMPDIR:-/tmp}/test-lab.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() {
    echo "FAIL: $*"
    [ ! -f "$T/out" ] || sed 's/^/    | /' "$T/out"
    exit 1
}
if ! "$HERE/fetch.sh" >/dev/null; then
    [ "${CI:-}" = true ] && fail "the lab cannot be set up"
    echo "SKIP: the lab cannot be set up"
    exit 77
fi

# 1. lab-run: entry.sh's status comes back; kvm-probe runs on L1's /dev/kvm.
mkdir -p "$T/p/bin"
cp "$PROBE" "$T/p/bin/kvm-probe"
printf 'bin/kvm-probe || exit 1\nexit 42\n' >"$T/p/entry.sh"
rc=0
"$HERE/lab-run" --timeout 300 "$T/p" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 42 ] || fail "lab-run returned $rc, not entry.sh's 42"
grep -q '^kvm-probe: usable' "$T/out" || fail "kvm-probe did not find L1's /dev/kvm usable"
grep -q '@@QVM-LAB VFIO' "$T/out" && fail "the plain lab bound a device to vfio-pci"
echo "ok: lab-run"

# 1a. lab-run --iommu: edu (1234:11e8), the virtio-rng-pci (1af4:1044) and
# the NVMe controller (1b36:0010) bound to vfio-pci, each alone in its
# group, whose /dev/vfio/N exists, and announced; the emulated IOMMU is
# on; KVM works.
mkdir -p "$T/i/bin"
cp "$PROBE" "$T/i/bin/kvm-probe"
cat >"$T/i/entry.sh" <<'EOF2'
bin/kvm-probe || exit 1
dmesg | grep -q 'DMAR: IOMMU enabled' || exit 2
for id in 0x1234:0x11e8 0x1af4:0x1044 0x1b36:0x0010; do
    found=0
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor"):$(cat "$d/device")" = "$id" ] || continue
        found=1
        g=$(readlink "$d/iommu_group")
        [ -c "/dev/vfio/${g##*/}" ] || exit 3
        case $(readlink "$d/driver") in */vfio-pci) ;; *) exit 5 ;; esac
        [ "$(ls "$d/iommu_group/devices" | wc -l)" = 1 ] || exit 7
    done
    [ $found = 1 ] || exit 6
done
exit 43
EOF2
rc=0
"$HERE/lab-run" --iommu --timeout 300 "$T/i" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 43 ] || fail "lab-run --iommu returned $rc, not 43 (1 no KVM, 2 no IOMMU, 3 no /dev/vfio/N, 5 not bound to vfio-pci, 6 a device missing, 7 not alone in its group)"
[ "$(grep -c '^@@QVM-LAB VFIO 0000:00:[0-9a-f][0-9a-f]\.0 group=[0-9]' "$T/out")" = 3 ] ||
    fail "not three @@QVM-LAB VFIO lines (edu, virtio-rng-pci, NVMe)"
echo "ok: lab-run --iommu"

# 1b. lab-run's progress watchdog: a payload that promises progress within
# 5 s and then goes silent is killed well before the hard timeout, and
# L1's CPU state is shown.
mkdir -p "$T/w"
printf 'echo "@@QVM-LAB WATCHDOG 5"\nsleep 200\n' >"$T/w/entry.sh"
rc=0
QVM_LAB_STARTED_FILE=$T/started "$HERE/lab-run" --timeout 300 "$T/w" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 124 ] || fail "stalled payload: lab-run returned $rc, want 124"
grep -q '^lab-run: watchdog: L1 made no progress in 5s' "$T/out" || fail "no watchdog message"
grep -q '^lab-run: | RIP=' "$T/out" || fail "no L1 CPU state"
started=$(cat "$T/started" 2>/dev/null || echo 0)
[ "$started" -gt 0 ] || fail "lab-run did not say when L1 started"
[ $(($(date +%s) - started)) -lt 120 ] ||
    fail "the watchdog took $(($(date +%s) - started)) s after L1 started"
echo "ok: lab-run watchdog"

# 2. qvm-lab, with a stand-in qvm that lists what it finds and exits 7.
mkdir -p "$T/build/tools" "$T/work/sub" "$T/abs"
cp "$PROBE" "$T/build/tools/kvm-probe"
cat >"$T/build/qvm" <<QVM
#!/bin/sh
echo "qvm args: \$*"
find . -type f | sort | sed 's/^/have /'
cat "$T/abs/kernel.elf"
exit 7
QVM
chmod +x "$T/build/qvm"
echo absolute >"$T/abs/kernel.elf"
cat >"$T/work/vm.qvmconf" <<CONF
# a comment naming nothing.bin
ram 64M
load sub/guest.bin
load 0x80000,$T/abs/kernel.elf
vdev virtio-blk
    hostdev <sub/disk.img
@sub/more.qvmconf
CONF
printf 'vdev ser8250 hostdev >-\nload sub/more.bin\n@vm.qvmconf\n' >"$T/work/sub/more.qvmconf"
for f in guest.bin disk.img more.bin; do echo "$f" >"$T/work/sub/$f"; done
rc=0
(cd "$T/work" && QVM_BUILD=$T/build "$REPO/tools/qvm-lab" -- @vm.qvmconf "two words") \
    >"$T/out" 2>&1 || rc=$?
[ "$rc" = 7 ] || fail "qvm-lab returned $rc, not qvm's 7"
grep -qx "qvm args: @vm.qvmconf two words" "$T/out" || fail "qvm-lab changed qvm's arguments"
for f in vm.qvmconf sub/more.qvmconf sub/guest.bin sub/disk.img sub/more.bin; do
    grep -qx "have ./$f" "$T/out" || fail "qvm-lab did not copy $f"
done
grep -qx absolute "$T/out" || fail "qvm-lab did not copy the absolute load path"
! grep -q '@@QVM-LAB' "$T/out" || fail "qvm-lab relayed L1's markers"
echo "ok: qvm-lab"

# 3. run-vm-tests --bed lab: the probe case, a case checking the contract's
# environment under busybox ash, a failing one and one over its limit.
mkdir -p "$T/cases" "$T/build/tests/guests"
echo guest >"$T/build/tests/guests/g.elf"
cp "$REPO/tests/vm/cases/probe.sh" "$T/cases/"
cat >"$T/cases/env.sh" <<'CASE'
set -e
[ "$QVM" = /payload/bin/qvm ] && [ -x "$QVM" ]
[ -f "$GUESTS/g.elf" ] && [ -d "$CONFIGS" ] && [ -d "$TMPDIR" ]
[ "$(pwd)" = /payload ] && [ -f cases/env.sh ] && [ -c /dev/kvm ]
[ "$CI" = lab-test ]
# 64 KiB of random bytes and their SHA-256, for env.host on the host
head -c 65536 /dev/urandom >"$EXPORT/random.bin"
sha256sum <"$EXPORT/random.bin" | cut -d' ' -f1 >"$EXPORT/random.sum"
CASE
cat >"$T/cases/env.host" <<'CASE'
set -e
[ "$(sha256sum <"$EXPORT/random.bin" | cut -d' ' -f1)" = "$(cat "$EXPORT/random.sum")" ]
[ "$(wc -c <"$EXPORT/random.bin")" = 65536 ]
CASE
printf 'echo FAILMARK; exit 5\n' >"$T/cases/fails.sh"
# busybox timeout in L1 ends a case at its own limit, leftovers included.
printf '# timeout: 3\nsleep 100 &\nsleep 100\n' >"$T/cases/slow.sh"
rc=0
CI=lab-test "$REPO/tests/vm/run-vm-tests" --bed lab --cases-dir "$T/cases" \
    "$T/build" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "run-vm-tests --bed lab returned $rc, want 1"
grep -qx 'kvm bed: nested lab' "$T/out" || fail "no 'kvm bed: nested lab' line"
grep -qx 'ok - probe' "$T/out" || fail "no 'ok - probe' line"
grep -qx 'ok - env' "$T/out" || fail "the case environment is wrong in L1"
grep -qx 'ok - env.host' "$T/out" || fail "the files env.sh exported did not reach env.host intact"
! grep -q '@@VMTEST-X' "$T/out" || fail "the exported files are shown"
grep -qx 'not ok - fails' "$T/out" || fail "no 'not ok - fails' line"
grep -qx 'not ok - slow' "$T/out" || fail "no 'not ok - slow' line"
grep -q '^# ---- slow: .*timed out after 3 s' "$T/out" || fail "the case limit did not work in L1"
grep -q 'FAILMARK' "$T/out" || fail "a failing case's output is not shown"
grep -q '# ---- console around fails' "$T/out" || fail "no L1 console for a failure"
[ "$(tail -n 1 "$T/out")" = 'vm-tests: 3 passed, 2 failed, 0 skipped' ] ||
    fail "wrong summary line"
echo "ok: run-vm-tests --bed lab"
echo "PASS: nested lab"
