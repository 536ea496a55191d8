#!/bin/sh
# unsup-ref: `unsupported reference` (docs/exit-codes.md row 5) with the
# unsup guest (tests/guests/unsup.c): port 0x5a5 in and out, a read and a
# write of unmapped guest-physical memory.
#   ignore (default): no exception, reads all ones, writes dropped.
#   fail: #GP(0); at the instruction with the destination register
#         untouched for reads and port writes, at the next instruction for
#         a memory write (KVM retires it before it exits).
#   abort: 5 at the port read.
set -u
. cases/lib.sh
qvm_start ignore @"$CONFIGS/unsup.qvmconf"
qvm_wait 0
cat "$out"
grep -q 'unsup: ref-in: no exception, value 0x5a5a5aff' "$out" ||
    fail "ignore: the port read is not all ones"
grep -q 'unsup: ref-out: no exception' "$out" || fail "ignore: port write"
grep -q 'unsup: ref-read: no exception, value 0xffffffff' "$out" ||
    fail "ignore: the memory read is not all ones"
grep -q 'unsup: ref-write: no exception' "$out" || fail "ignore: mem write"
grep -q 'read from unmapped port 0x5a5 (pc 0x[0-9a-f]*): all ones' "$out" ||
    fail "ignore: no warning"
grep -q 'unsup: done' "$out" || fail "ignore: the guest did not finish"

qvm_start fail @"$CONFIGS/unsup.qvmconf" unsupported reference fail
qvm_wait 0
cat "$out"
grep -q 'unsup: ref-in: #GP(0) at the instruction, value 0x5a5a5a5a' "$out" ||
    fail "fail: port read"
grep -q 'unsup: ref-out: #GP(0) at the instruction' "$out" ||
    fail "fail: port write"
grep -q 'unsup: ref-read: #GP(0) at the instruction, value 0x5a5a5a5a' "$out" ||
    fail "fail: memory read"
grep -q 'unsup: ref-write: #GP(0) after the instruction' "$out" ||
    fail "fail: memory write"
grep -q 'unmapped address 0x10000000 (pc 0x[0-9a-f]*): #GP(0) (unsupported reference fail)' "$out" ||
    fail "fail: no log line"
grep -q 'unsup: done' "$out" || fail "fail: the guest did not finish"

qvm_start abort @"$CONFIGS/unsup.qvmconf" unsupported reference abort
qvm_wait 5
cat "$out"
grep -q 'unmapped port 0x5a5 .*unsupported reference abort' "$out" ||
    fail "abort: no abort message"
grep -q 'unsup: insn-fetch' "$out" || fail "abort: ended too early"
! grep -q 'unsup: ref-in' "$out" || fail "abort: the guest ran on"
echo "PASS"
