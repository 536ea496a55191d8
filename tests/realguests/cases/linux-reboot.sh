#!/bin/sh
# `reboot` in the guest ends qvm with 0 and says it was a reset.
# timeout: 120
. cases/lib.sh
boot linux-reboot.qvmconf
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
markers 1 200000
grep -q 'guest reset' "$out" || fail "qvm did not log a reset"
echo PASS
