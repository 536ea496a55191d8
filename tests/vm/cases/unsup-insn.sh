#!/bin/sh
# unsup-insn: `unsupported instruction` (docs/exit-codes.md row 5) with the
# unsup guest (tests/guests/unsup.c): a flds from unmapped memory (KVM's
# emulator has no x87 loads; the bytes are known) and a jump to unmapped
# memory (KVM cannot fetch the instruction; its length is unknown).
#   fail (default): #UD at the instruction, for both; the guest goes on.
#   ignore: the flds is skipped; the fetch cannot be, so it is #UD too,
#           with a line that says why.
#   abort: 5 at the flds, with the register dump.
set -u
. cases/lib.sh
qvm_start fail @"$CONFIGS/unsup.qvmconf"
qvm_wait 0
cat "$out"
grep -q 'unsup: insn-mmio: #UD at the instruction' "$out" ||
    fail "fail: no #UD at the flds"
grep -q 'unsup: insn-fetch: #UD at the instruction' "$out" ||
    fail "fail: no #UD at the unmapped code"
grep -q 'instruction KVM cannot emulate at pc 0x[0-9a-f]* (bytes: d9 .*#UD (unsupported instruction fail)' "$out" ||
    fail "fail: no log line with the bytes"
grep -q 'unsup: done' "$out" || fail "fail: the guest did not finish"

qvm_start ignore @"$CONFIGS/unsup.qvmconf" unsupported instruction ignore
qvm_wait 0
cat "$out"
grep -q 'unsup: insn-mmio: no exception' "$out" ||
    fail "ignore: the flds was not skipped"
grep -q 'at pc 0x[0-9a-f]* (2 bytes: d9 06): skipped (unsupported instruction ignore)' "$out" ||
    fail "ignore: no skip line"
grep -q 'unsup: insn-fetch: #UD at the instruction' "$out" ||
    fail "ignore: no #UD for code of unknown length"
grep -q '#UD (unsupported instruction ignore; its length is unknown' "$out" ||
    fail "ignore: no line saying the length is unknown"
grep -q 'unsup: done' "$out" || fail "ignore: the guest did not finish"

qvm_start abort @"$CONFIGS/unsup.qvmconf" unsupported instruction abort
qvm_wait 5
cat "$out"
grep -q 'internal error.*(unsupported instruction abort)' "$out" ||
    fail "abort: no abort line"
grep -q 'rip [0-9a-f]\{16\} rflags' "$out" || fail "abort: no register dump"
! grep -q 'unsup: insn-mmio' "$out" || fail "abort: the guest ran on"
echo "PASS"
