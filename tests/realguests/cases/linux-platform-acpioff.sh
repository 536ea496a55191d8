#!/bin/sh
# linux-platform with `acpi=off`: the platform from the MP table (reboot=k:
# the end is a reboot through the 8042 (reboot=k), which ends qvm with 0).
# timeout: 240
. cases/lib.sh
. cases/platform-lib
boot linux-platform-acpioff.qvmconf
platform_checks 1 IO-APIC notimer
grep -q 'found SMP MP-table' "$out" || fail "the kernel did not use the MP table"
echo PASS
