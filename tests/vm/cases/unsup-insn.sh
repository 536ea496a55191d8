#!/bin/sh
# unsup-insn: with `unsupported instruction abort`, an instruction KVM
# cannot emulate ends qvm with 5 instead of 96 (docs/exit-codes.md), with
# the register dump: the badinsn guest (fwait on kvm_pvm; on VMX/SVM, where
# fwait runs, a jump to unmapped memory, an emulation failure as well).
set -u
. cases/lib.sh
qvm_start unsup-insn @"$CONFIGS/badinsn.qvmconf" unsupported instruction abort
qvm_wait 5
cat "$out"
grep -q 'badinsn: executing fwait' "$out" || fail "no banner"
grep -q 'internal error.*(unsupported instruction abort)' "$out" ||
    fail "no abort line"
grep -q 'rip [0-9a-f]\{16\} rflags' "$out" || fail "no register dump"
! grep -q 'badinsn: FAIL' "$out" || fail "the guest ran on"
echo "PASS"
