#!/bin/sh
# acpi-reset: the guest writes the FADT's RESET_VALUE (6) to its RESET_REG
# (I/O 0xcf9): qvm exits 0 saying "guest reset".
set -u
out="$TMPDIR/acpi-reset.out"
rc=0
"$QVM" @"$CONFIGS/acpi-reset.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'acpi-reset: writing 0x00000006 to port 0x00000cf9' "$out" ||
    fail "FADT reset register"
grep -q 'guest reset' "$out" || fail "no reset log line"
! grep -q FAIL "$out" || fail "the guest reported a failure"
echo "PASS"
