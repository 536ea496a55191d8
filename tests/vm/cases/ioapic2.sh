#!/bin/sh
# ioapic2: two IOAPICs at configured addresses. The guest checks the MADT
# and version registers, level delivery with remote IRR, EOI through the
# local APIC and redelivery while the UART still asserts on the first, and
# edge delivery on the second (tests/guests/ioapic2.c); it prints
# "ioapic2: ok" and powers off, and qvm exits 0.
# timeout: 120
set -u
out="$TMPDIR/ioapic2.out"
rc=0
"$QVM" @"$CONFIGS/ioapic2.qvmconf" </dev/null >"$out" 2>&1 || rc=$?
cat "$out"
fail() { echo "FAIL: $*"; exit 1; }
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'ioapic2: FAIL' "$out" && fail "the guest reported a failure"
grep -q 'ioapic2: ok' "$out" || fail "the guest did not finish"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
echo "PASS"
