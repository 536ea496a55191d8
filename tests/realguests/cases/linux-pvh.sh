#!/bin/sh
# The same kernel booted through PVH from the vmlinux in the bzImage.
# timeout: 120
. cases/lib.sh
boot linux-pvh.qvmconf
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
markers 1 200000
echo PASS
