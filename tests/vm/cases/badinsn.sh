#!/bin/sh
# badinsn: a guest instruction KVM cannot run or emulate ends qvm with 96
# (docs/exit-codes.md), with the registers and the code at RIP. The guest
# executes fwait, which kvm_pvm (software ring-0 emulation) cannot emulate:
# the bytes at RIP are "9b ...". On a KVM with VMX/SVM (the nested lab)
# fwait runs, and the guest jumps to unmapped guest-physical memory, where
# no KVM can fetch an instruction: 96 too, the code "not in guest memory".
set -u
. cases/lib.sh
qvm_start badinsn @"$CONFIGS/badinsn.qvmconf"
qvm_wait 96
cat "$out"
grep -q 'badinsn: executing fwait' "$out" || fail "no banner"
grep -q 'KVM internal error 1 (instruction emulation failed)' "$out" ||
    fail "no internal-error line"
grep -q 'rip [0-9a-f]\{16\} rflags' "$out" || fail "no register dump"
! grep -q 'badinsn: FAIL' "$out" || fail "the guest ran on"
if grep -q 'badinsn: fwait ran' "$out"; then
    grep -q 'code at linear 0x10000000 is not in guest memory' "$out" ||
        fail "no report of the code at the unmapped RIP"
else
    grep -q 'code at linear 0x[0-9a-f]* (physical 0x[0-9a-f]*): 9b' "$out" ||
        fail "no instruction bytes"
fi
echo "PASS"
