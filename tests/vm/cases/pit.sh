#!/bin/sh
# pit: the pit guest drives qvm's 8254 (modes 0, 2, 3 and 4 on counter 0,
# modes 0 and 3 on counter 2 through port 0x61, latch and read-back
# commands, Linux's calibration, periodic, oneshot and shutdown
# sequences) with its interrupt on pin 0 of an IOAPIC at 0xf8000000. The
# guest checks the counts and OUT2, counts the interrupts and measures
# against the RTC; the case also times its 100 mode-2 periods of 10 ms
# between the marker lines: at least 0.99 s of host time (a lower bound
# only: the bed may be slow).
# timeout: 240
set -u
. cases/lib.sh
qvm_run_stamped pit @"$CONFIGS/pit.qvmconf"
cat "$out"
[ "$rc" = 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'pit: FAIL' "$out" && fail "the guest reported a failure"
grep -q '^pit: done' "$out" || fail "the guest did not finish"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
ms=$(stamp_ms 'pit: mode2 start' 'pit: mode2 done')
echo "mode 2: 100 periods of 10 ms in $ms ms of host time"
[ "$ms" -ge 990 ] || fail "100 periods of 10 ms took $ms ms (< 990)"
echo "PASS"
