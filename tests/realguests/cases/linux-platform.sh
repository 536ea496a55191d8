#!/bin/sh
# Debian's kernel on QNX's minimal x86 platform (tests/vm/configs/
# linux-platform.qvmconf: qvm's IOAPIC at 0xf8000000, 8259s, 8254, HPET):
# userspace, the serial line and timer on the IO-APIC, hpet selectable,
# hwclock, an RTC wake alarm, power-off with 0.
# timeout: 240
. cases/lib.sh
. cases/platform-lib
boot linux-platform.qvmconf
platform_checks 1 IO-APIC
hpet_checks
echo PASS
