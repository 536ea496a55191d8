#!/bin/sh
# unsup-ref: an aarch64 guest's 4-byte load from 0x10000000, where nothing
# is mapped (tests/guests/arm64/unmapped.c), under each `unsupported
# reference` policy: ignore reads all ones; fail raises a synchronous
# external data abort at the load (EC 0x25 "data abort, same EL", FSC
# 0x10, FAR the address, ELR the load: not retired); abort ends qvm with 5.
set -u
. cases/lib.sh
qvm_run unmapped-ignore @"$CONFIGS/unmapped-ignore.qvmconf"
o=$out
[ "$rc" -eq 0 ] || fail "ignore: qvm exited $rc, expected 0"
grep -q 'unmapped: read 0x00000000ffffffff' "$o" || fail "ignore: not all ones"
grep -q '4-byte read from unmapped address 0x10000000' "$o" ||
    fail "ignore: no warning"

qvm_run unmapped-fail @"$CONFIGS/unmapped-fail.qvmconf"
o=$out
[ "$rc" -eq 0 ] || fail "fail: qvm exited $rc, expected 0"
load=$(sed -n 's/^unmapped: load at \(0x[0-9a-f]*\).*/\1/p' "$o")
[ -n "$load" ] || fail "fail: the guest did not start"
# vector 0x200: synchronous, current EL with SP_ELx; ESR's low 32 bits:
# EC 0x25, IL, FSC 0x10 (synchronous external abort). Linux 6.1's KVM
# sign-extends the syndrome into ESR_EL1's upper (RES0) half.
grep -q "unmapped: exception at vector 0x0000000000000200 esr 0x[0f]\{8\}96000010 far 0x0000000010000000 elr $load" "$o" ||
    fail "fail: no external data abort at the load"
grep -q 'unmapped address 0x10000000 (pc 0x[0-9a-f]*): external data abort (unsupported reference fail)' "$o" ||
    fail "fail: no warning"
! grep -q 'unmapped: read' "$o" || fail "fail: the load completed"

qvm_run unmapped-abort @"$CONFIGS/unmapped-abort.qvmconf"
o=$out
[ "$rc" -eq 5 ] || fail "abort: qvm exited $rc, expected 5"
grep -q 'unsupported reference abort' "$o" || fail "abort: no abort line"
echo PASS
