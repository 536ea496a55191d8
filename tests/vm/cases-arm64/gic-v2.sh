#!/bin/sh
# gic-v2: `vdev gic version 2` (docs/boot.md, "The GIC"). KVM emulates a
# GICv2 only on a host whose GIC has a GICv2 CPU interface (a GICv2, or a
# GICv3 with GICv2 compatibility: a GICV region); the aarch64 lab's L1
# (QEMU's virt machine with gic-version=3) has none, and its kernel says
# "disabling GICv2 emulation". There qvm must end before the guest starts
# (64) saying why and what works: KVM_CREATE_DEVICE's error and
# `version 3`. On a host whose KVM does emulate a GICv2 the psci_off guest
# runs on it instead (exit 0, its device tree with arm,cortex-a15-gic).
set -u
. cases/lib.sh
qvm_run v2 @"$CONFIGS/psci-off.qvmconf" vdev gic version 2 \
    set fdt-dump-file "$TMPDIR/v2.dtb"
if dmesg | grep -q 'disabling GICv2 emulation'; then
    echo "gic-v2: this host's KVM has no GICv2 emulation"
    [ "$rc" -eq 64 ] || fail "qvm exited $rc, expected 64 (fatal before the guest started)"
    grep -qF "vdev gic version 2: this host's KVM cannot emulate it (KVM_CREATE_DEVICE: No such device); a GICv3 host without GICv2 compatibility (no GICV region) offers only \`version 3\`" "$out" ||
        fail "no message naming why and what works"
    grep -q 'arm64 guest' "$out" && fail "the guest ran"
else
    echo "gic-v2: this host's KVM emulates a GICv2"
    [ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0 (the guest on a vGICv2)"
    grep -q 'guest powered off (system event)' "$out" || fail "no power-off line"
    grep -q 'arm,cortex-a15-gic' "$TMPDIR/v2.dtb" || fail "no GICv2 in the device tree"
fi
echo PASS
