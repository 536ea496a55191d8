#!/bin/sh
# psci: the freestanding aarch64 guest (tests/guests/arm64/psci.c) prints
# on the PL011 at 0x1c090000 from EL1 with D, A, I, F masked, reads PSCI's
# version (0.2 or later: KVM's in-kernel PSCI), then calls SYSTEM_OFF: qvm
# exits 0 with "guest powered off (system event)"; built as psci_reset it
# calls SYSTEM_RESET: qvm exits 0 with "guest reset (system event)". x0
# points at the device tree (its header and the compatibles the guest finds).
set -u
. cases/lib.sh
qvm_run psci-off @"$CONFIGS/psci-off.qvmconf"
o=$out
[ "$rc" -eq 0 ] || fail "SYSTEM_OFF: qvm exited $rc, expected 0"
grep -q 'arm64 guest: hello from EL1, DAIF 0x00000000000003c0' "$o" ||
    fail "no PL011 output, or not EL1 with DAIF masked"
# x0: the device tree qvm built from the realized machine
grep -q 'arm64 guest: device tree, 0x[0-9a-f]* bytes: arm,pl011 arm,gic-v3 arm,psci-0.2 arm,armv8-timer' "$o" ||
    fail "no device tree at x0, or without the PL011, GICv3, PSCI or timer"
grep -q 'arm64 guest: PSCI version 0x0000000000010' "$o" ||
    fail "PSCI version is not 1.x"
grep -q 'arm64 guest: SYSTEM_OFF' "$o" || fail "the guest did not get there"
grep -q 'guest powered off (system event)' "$o" || fail "no power-off line"
! grep -q 'PSCI call returned' "$o" || fail "SYSTEM_OFF returned"

# `set fdt-dump-file`: the tree the guest got, in a file (FDT magic
# d00dfeed, the size the guest read from its header).
qvm_run dump @"$CONFIGS/psci-off.qvmconf" set fdt-dump-file "$TMPDIR/board.dtb"
[ "$rc" -eq 0 ] || fail "fdt-dump-file: qvm exited $rc"
[ "$(od -An -tx1 -N4 "$TMPDIR/board.dtb" | tr -d ' ')" = d00dfeed ] ||
    fail "fdt-dump-file: no device tree in the file"
size=$(sed -n 's/.*arm64 guest: device tree, 0x0*\([0-9a-f]*\) bytes.*/\1/p' "$out")
[ -n "$size" ] && [ "$(wc -c <"$TMPDIR/board.dtb")" -eq "$((0x$size))" ] ||
    fail "fdt-dump-file: $(wc -c <"$TMPDIR/board.dtb") bytes, the guest's tree 0x$size"

qvm_run psci-reset @"$CONFIGS/psci-reset.qvmconf"
o=$out
[ "$rc" -eq 0 ] || fail "SYSTEM_RESET: qvm exited $rc, expected 0"
grep -q 'arm64 guest: SYSTEM_RESET' "$o" || fail "the guest did not get there"
grep -q 'guest reset (system event)' "$o" || fail "no reset line"
! grep -q 'PSCI call returned' "$o" || fail "SYSTEM_RESET returned"
echo PASS
