#!/bin/sh
# triple: a guest that triple-faults (empty IDT + ud2) is a guest reset:
# qvm exits 0 and logs "guest reset (triple fault)".
set -u
out="$TMPDIR/triple.out"
rc=0
"$QVM" @"$CONFIGS/triple.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'triple: about to triple-fault' "$out" || fail "no banner"
grep -q 'guest reset (triple fault)' "$out" || fail "no reset log line"
if grep -q 'still alive' "$out"; then
    fail "guest survived"
fi
echo "PASS"
