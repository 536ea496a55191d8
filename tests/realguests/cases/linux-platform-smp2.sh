#!/bin/sh
# linux-platform with 2 vCPUs.
# timeout: 240
. cases/lib.sh
. cases/platform-lib
boot linux-platform-smp2.qvmconf
platform_checks 2 IO-APIC
hpet_checks
echo PASS
