#!/bin/sh
# unsup-ref: with `unsupported reference abort`, a guest reading an
# unmapped port ends qvm with status 5; with the default (ignore) the read
# returns all ones and the guest powers off (0).
set -u
. cases/lib.sh
qvm_start abort @"$CONFIGS/unsup-ref.qvmconf"
qvm_wait 5
grep -q 'unmapped port 0x5a5 .*unsupported reference abort' "$out" ||
    fail "no abort message"
! grep -q 'still running' "$out" || fail "the guest ran on"
cat "$out"
qvm_start ignore @"$CONFIGS/unsup-ref.qvmconf" unsupported reference ignore
qvm_wait 0
grep -q 'read 0x000000ff, still running' "$out" || fail "no all-ones read"
cat "$out"
echo "PASS"
