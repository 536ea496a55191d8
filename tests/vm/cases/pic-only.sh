#!/bin/sh
# pic-only: interrupts through the 8259 pair alone (the IOAPIC never
# programmed, the local APIC as reset leaves it: LINT0 ExtINT). The guest
# initializes the 8259s as Linux does and takes COM1's IRQ 4 and COM3's
# IRQ 11 (through the cascade) at vectors 0x24 and 0x2b
# (tests/guests/pic_only.c); it prints "pic-only: ok" and powers off, and
# qvm exits 0.
# timeout: 120
set -u
out="$TMPDIR/pic-only.out"
rc=0
"$QVM" @"$CONFIGS/pic-only.qvmconf" </dev/null >"$out" 2>&1 || rc=$?
cat "$out"
fail() { echo "FAIL: $*"; exit 1; }
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'pic-only: FAIL' "$out" && fail "the guest reported a failure"
grep -q 'pic-only: ok' "$out" || fail "the guest did not finish"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
echo "PASS"
