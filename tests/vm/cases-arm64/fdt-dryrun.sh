#!/bin/sh
# fdt-dryrun: the device tree `dryrun` writes with `set fdt-dump-file`
# (built from the configuration: src/arch/arm64/plan.c) is byte for byte
# the tree the running guest gets from the realized machine (board.c):
# two vCPUs as KVM numbers them, the vGIC, a PL011, virtio-mmio, the
# initrd where the loaders put it, the `fdt load` overlay applied. On the
# host, tests/configs/fdt-dtc.sh decompiles dryrun's tree with dtc and
# checks it against the configuration; this carries that check to the VM.
set -u
. cases/lib.sh
qvm_run run @"$CONFIGS/fdt-board.qvmconf" set fdt-dump-file "$TMPDIR/run.dtb"
[ "$rc" -eq 0 ] || fail "the VM: qvm exited $rc, expected 0"
grep -q 'guest powered off (system event)' "$out" || fail "no power-off line"
grep -q 'arm64 guest: device tree, 0x[0-9a-f]* bytes: arm,pl011 arm,gic-v3' "$out" ||
    fail "the guest found no device tree"
[ -s "$TMPDIR/run.dtb" ] || fail "the VM wrote no fdt-dump-file"
grep -q 'overlay-applied' "$TMPDIR/run.dtb" || fail "the overlay is not in the guest's tree"
qvm_run dryrun @"$CONFIGS/fdt-board.qvmconf" set fdt-dump-file "$TMPDIR/dry.dtb" dryrun
[ "$rc" -eq 0 ] || fail "dryrun: qvm exited $rc"
grep -q "FDT saved to '$TMPDIR/dry.dtb'" "$out" || fail "dryrun: no 'FDT saved to'"
echo "fdt-dryrun: the VM's tree $(wc -c <"$TMPDIR/run.dtb") bytes, md5 $(md5sum <"$TMPDIR/run.dtb" | cut -d' ' -f1)"
echo "fdt-dryrun: dryrun's tree $(wc -c <"$TMPDIR/dry.dtb") bytes, md5 $(md5sum <"$TMPDIR/dry.dtb" | cut -d' ' -f1)"
cmp "$TMPDIR/run.dtb" "$TMPDIR/dry.dtb" || fail "dryrun's tree differs from the VM's"
echo PASS
