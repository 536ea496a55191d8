#!/bin/sh
# acpi-poweroff: the guest reads FADT.PM1a_CNT_BLK and the DSDT's _S5 and
# writes SLP_TYP|SLP_EN: qvm exits 0, "guest powered off".
set -u
out="$TMPDIR/acpi-poweroff.out"
rc=0
"$QVM" @"$CONFIGS/acpi-poweroff.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'acpi-poweroff: PM1a_CNT 0x00000604, _S5 SLP_TYP 5' "$out" ||
    fail "FADT/DSDT values"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
! grep -q FAIL "$out" || fail "the guest reported a failure"
echo "PASS"
