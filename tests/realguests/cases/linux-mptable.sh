#!/bin/sh
# 2 vCPUs found through the MP table (acpi=off); reboot=k ends through the
# 8042 reset, which ends qvm with 0.
# timeout: 120
. cases/lib.sh
boot linux-mptable.qvmconf
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
markers 2 200000
grep -q 'found SMP MP-table' "$out" || fail "the kernel did not use the MP table"
echo PASS
