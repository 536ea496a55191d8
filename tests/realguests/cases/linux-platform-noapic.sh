#!/bin/sh
# linux-platform with `noapic`: every interrupt through qvm's 8259 pair
# (XT-PIC in /proc/interrupts).
# timeout: 240
. cases/lib.sh
. cases/platform-lib
boot linux-platform-noapic.qvmconf
platform_checks 1 XT-PIC
echo PASS
