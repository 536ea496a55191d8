#!/bin/sh
# rtc-irq: the rtc_irq guest uses the MC146818's interrupts on IRQ 8 (pin
# 8 of the IOAPIC at 0xfec00000) as Linux's rtc-cmos does: 1024 Hz
# periodic interrupts counted over two RTC seconds (at least half the
# nominal rate: the flag coalesces on a slow bed), an alarm 2 s ahead that
# fires once and not early, three update-ended interrupts a second
# apart, and none while the HPET's legacy replacement holds IRQ 8 (they
# come back when it ends). Those phases take at least 5 s; the case checks
# that qvm ran at least 4.5 s of host time (a lower bound only).
# timeout: 180
set -u
out="$TMPDIR/rtc-irq.out"
rc=0
read -r t0 _ </proc/uptime
"$QVM" @"$CONFIGS/rtc-irq.qvmconf" </dev/null >"$out" 2>&1 || rc=$?
read -r t1 _ </proc/uptime
tr -d '\r' <"$out"
fail() { echo "FAIL: $*"; exit 1; }
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'rtc-irq: FAIL' "$out" && fail "the guest reported a failure"
grep -q '^rtc-irq: done' "$out" || fail "the guest did not finish"
grep -q 'rtc-irq: periodic: [0-9]* interrupts' "$out" ||
    fail "no periodic figure"
ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d\n", (b - a) * 1000 }')
echo "qvm ran $ms ms of host time"
[ "$ms" -ge 4500 ] || fail "the guest's timed phases took $ms ms (< 4500)"
echo "PASS"
