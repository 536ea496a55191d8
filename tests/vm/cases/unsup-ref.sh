#!/bin/sh
# unsup-ref: with `unsupported reference abort`, a guest reading an
# unmapped port ends qvm with status 5; with the default (ignore) the read
# returns all ones and the guest powers off (0).
set -u
out="$TMPDIR/unsup-ref.out"
. cases/lib.sh
rc=0
"$QVM" @"$CONFIGS/unsup-ref.qvmconf" >"$out" 2>&1 || rc=$?
[ "$rc" -eq 5 ] || fail "qvm exited $rc, expected 5"
grep -q 'unmapped port 0x5a5 .*unsupported reference abort' "$out" ||
    fail "no abort message"
! grep -q 'still running' "$out" || fail "the guest ran on"
cat "$out"
rc=0
"$QVM" @"$CONFIGS/unsup-ref.qvmconf" unsupported reference ignore >"$out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "qvm exited $rc with 'ignore', expected 0"
grep -q 'read 0x000000ff, still running' "$out" || fail "no all-ones read"
cat "$out"
echo "PASS"
