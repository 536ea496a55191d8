#!/bin/sh
# Debian's cloud kernel, which ignores the MP table, finds both vCPUs from
# the ACPI MADT.
# timeout: 120
. cases/lib.sh
boot linux-cloud-smp2.qvmconf
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
markers 2 200000
echo PASS
