#!/bin/sh
# hpet: the hpet guest drives the HPET at 0xf8008000 (QNX's layout: timers
# on IOAPIC inputs 2, 8 and 10): capabilities, Linux's sanity steps, the
# counter's rate against the RTC (1 %), periodic, one-shot and level
# interrupts, FSB delivery and legacy replacement. It prints "hpet: ok"
# and powers off (qvm exits 0).
# timeout: 120
set -u
out="$TMPDIR/hpet.out"
rc=0
"$QVM" @"$CONFIGS/hpet.qvmconf" </dev/null >"$out" 2>&1 || rc=$?
cat "$out"
fail() {
    echo "FAIL: $*"
    exit 1
}
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'hpet: FAIL' "$out" && fail "the guest reported a failure"
grep -q 'hpet: ok' "$out" || fail "the guest did not finish"
echo "PASS"
