#!/bin/sh
# linux-arm64: Debian's arm64 kernel (the Image the aarch64 lab's L1 boots)
# with a busybox initramfs on qvm for aarch64: 2 vCPUs (the second through
# PSCI CPU_ON), KVM's vGICv3, the architected timer, the PL011 as the
# console, the device tree qvm builds from the realized machine (x0), the
# initrd where the loader placed it. /init reaches userspace, sees both
# CPUs, shows timer interrupts on both, and `poweroff -f` ends qvm with 0
# (PSCI SYSTEM_OFF). Material: tests/realguests/prepare-arm64.sh.
# timeout: 600
set -u
out=$TMPDIR/linux.out
fail() {
    cat "$out" 2>/dev/null
    echo "FAIL: $*"
    exit 1
}
g=$(cd "$GUESTS" && pwd)
cat >"$TMPDIR/linux.qvmconf" <<CONF
system arm64-linux
ram 0x80000000,256m
cpu
cpu
load $g/Image
initrd load $g/initrd-arm64.gz
cmdline "console=ttyAMA0 panic=-1 rdinit=/init"
vdev gic
vdev pl011 loc 0x1c090000 intr gic:37
    hostdev >-
CONF
rc=0
"$QVM" @"$TMPDIR/linux.qvmconf" >"$out" 2>&1 </dev/null || rc=$?
tr -d '\r' <"$out" >"$out.txt"
o=$out.txt
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'Machine model: qvm' "$o" || fail "the kernel did not take qvm's device tree"
grep -q 'smp: Brought up 1 node, 2 CPUs' "$o" || fail "the second vCPU did not come up"
grep -q 'ttyAMA0 at MMIO 0x1c090000 (irq = [0-9]*, base_baud = 0) is a PL011' "$o" ||
    fail "no PL011 at 0x1c090000"
grep -q 'QVM-ARM64-INIT: userspace on aarch64, 2 CPU(s)' "$o" || fail "no userspace"
grep -Eq 'QVM-ARM64-IRQ: +[0-9]+: +[1-9][0-9]* +[1-9][0-9]* +GICv3 +27 Level +arch_timer' "$o" ||
    fail "no timer interrupts on both CPUs"
grep -q 'QVM-ARM64-INIT: cmdline console=ttyAMA0 panic=-1 rdinit=/init' "$o" ||
    fail "not the configured command line"
grep -q 'guest powered off (system event)' "$o" || fail "no power-off through PSCI"
echo PASS
