#!/bin/sh
# badinsn: a guest instruction KVM cannot run or emulate, under the default
# `unsupported instruction fail`, raises #UD in the guest (before: exit 96).
# The guest executes fwait, which kvm_pvm (software ring-0 emulation)
# cannot emulate (bytes "9b"); on a KVM with VMX/SVM (the nested lab) fwait
# runs, and the guest jumps to unmapped guest-physical memory, where no KVM
# can fetch an instruction. The guest has no IDT: the #UD becomes a triple
# fault, a guest reset (0). (tests/vm/cases/unsup-insn.sh has a guest
# that handles the #UD.)
set -u
. cases/lib.sh
qvm_start badinsn @"$CONFIGS/badinsn.qvmconf"
qvm_wait 0
cat "$out"
grep -q 'badinsn: executing fwait' "$out" || fail "no banner"
grep -q 'instruction KVM cannot emulate at pc 0x[0-9a-f]* (bytes:.*#UD (unsupported instruction fail)' "$out" ||
    fail "no #UD line"
grep -q 'guest reset (triple fault)' "$out" || fail "no triple fault"
! grep -q 'badinsn: FAIL' "$out" || fail "the guest ran on"
if ! grep -q 'badinsn: fwait ran' "$out"; then
    grep -q 'bytes: 9b' "$out" || fail "no instruction bytes"
fi
echo "PASS"
