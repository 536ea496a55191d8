#!/bin/sh
# unsup-msr: `unsupported register` (docs/exit-codes.md row 5) with the
# unsup guest (tests/guests/unsup.c): rdmsr and wrmsr of MSR 0xbad, which
# KVM does not implement (KVM_CAP_X86_USER_SPACE_MSR hands it to qvm).
#   fail (default): #GP(0) at the instruction, EDX:EAX untouched.
#   ignore: reads 0, the write is dropped, no exception.
#   abort: 5 at the rdmsr, the log line names the MSR and the PC.
set -u
. cases/lib.sh
qvm_start fail @"$CONFIGS/unsup.qvmconf"
qvm_wait 0
cat "$out"
grep -q 'unsup: msr-read: #GP(0) at the instruction, value 0x5a5a5a5a' "$out" ||
    fail "fail: rdmsr"
grep -q 'unsup: msr-write: #GP(0) at the instruction' "$out" ||
    fail "fail: wrmsr"
grep -q 'rdmsr 0xbad (pc 0x[0-9a-f]*): an MSR KVM does not implement: #GP (unsupported register fail)' "$out" ||
    fail "fail: no log line"
grep -q 'unsup: done' "$out" || fail "fail: the guest did not finish"

qvm_start ignore @"$CONFIGS/unsup.qvmconf" unsupported register ignore
qvm_wait 0
cat "$out"
grep -q 'unsup: msr-read: no exception, value 0x00000000' "$out" ||
    fail "ignore: rdmsr does not read 0"
grep -q 'unsup: msr-write: no exception' "$out" || fail "ignore: wrmsr"
grep -q 'wrmsr 0xbad value 0x123456789abcdef0 (pc 0x[0-9a-f]*): .*dropped (unsupported register ignore)' "$out" ||
    fail "ignore: no log line"
grep -q 'unsup: done' "$out" || fail "ignore: the guest did not finish"

qvm_start abort @"$CONFIGS/unsup.qvmconf" unsupported register abort
qvm_wait 5
cat "$out"
grep -q 'rdmsr 0xbad (pc 0x[0-9a-f]*): an MSR KVM does not implement: unsupported register abort' "$out" ||
    fail "abort: no line naming the MSR"
grep -q 'unsup: ref-write' "$out" || fail "abort: ended too early"
! grep -q 'unsup: msr-read' "$out" || fail "abort: the guest ran on"
echo "PASS"
