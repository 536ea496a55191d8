#!/bin/sh
# Debian's kernel as a bzImage with a busybox initramfs, 1 vCPU: userspace
# runs, memory and command line are as configured, `poweroff` ends qvm with 0.
# timeout: 120
. cases/lib.sh
boot linux-1cpu.qvmconf
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
markers 1 200000
grep -q 'QVM-GUEST-INIT: done, powering off' "$out" || fail "no poweroff"
grep -q 'guest powered off' "$out" || fail "qvm did not log the power-off"
echo PASS
