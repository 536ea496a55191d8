#!/bin/sh
# shmem-fdt: `vdev shmem` over MMIO on aarch64 (docs/shmem.md) is realized
# (its region created in QVM_SHM_DIR) and described in the device tree the
# guest gets: node shmem@1c100000, compatible qnx,qvm-shmem (the dump of
# `set fdt-dump-file`; the freestanding psci guest boots on it and powers
# off). Its reg and interrupts cells: tests/unit/test_arm64_fdt.c.
set -u
. cases/lib.sh
QVM_SHM_DIR=$TMPDIR/shm
export QVM_SHM_DIR
mkdir -p "$QVM_SHM_DIR"
qvm_run shmem @"$CONFIGS/psci-off.qvmconf" \
    vdev shmem loc 0x1c100000 intr gic:45 create fdtcheck,64k \
    set fdt-dump-file "$TMPDIR/board.dtb"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'guest powered off (system event)' "$out" || fail "the guest did not power off"
[ -f "$QVM_SHM_DIR/qvm-shmem-fdtcheck" ] || fail "the region was not created"
# The blob's strings, one a line (a node's name or a property's value may
# follow a structure token's last byte: no anchor at the start).
tr '\0' '\n' <"$TMPDIR/board.dtb" >"$TMPDIR/strings"
grep -q 'shmem@1c100000$' "$TMPDIR/strings" || fail "no shmem@1c100000 node in the device tree"
grep -q 'qnx,qvm-shmem$' "$TMPDIR/strings" || fail "no qnx,qvm-shmem compatible in the device tree"
echo PASS
