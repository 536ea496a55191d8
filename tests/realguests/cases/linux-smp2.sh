#!/bin/sh
# 2 vCPUs found through the ACPI MADT.
# timeout: 120
. cases/lib.sh
boot linux-smp2.qvmconf
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
markers 2 200000
echo PASS
