#!/bin/sh
# unsup-insn: with `unsupported instruction abort`, an instruction KVM
# cannot emulate (badinsn's fwait on kvm_pvm) ends qvm with 5 instead of
# 96, with the register dump. On a KVM with VMX/SVM (the nested lab) fwait
# simply runs and the guest powers off: exit 0.
set -u
out="$TMPDIR/unsup-insn.out"
rc=0
"$QVM" @"$CONFIGS/badinsn.qvmconf" unsupported instruction abort >"$out" 2>&1 || rc=$?
cat "$out"
fail() { echo "FAIL: $*"; exit 1; }
grep -q 'badinsn: executing fwait' "$out" || fail "no banner"
case "$rc" in
5)
    grep -q 'internal error.*(unsupported instruction abort)' "$out" ||
        fail "no abort line"
    grep -q 'rip 0000000000' "$out" || fail "no register dump"
    ;;
0)
    grep -q 'badinsn: fwait ran' "$out" || fail "exit 0 without fwait running"
    ;;
*)
    fail "qvm exited $rc, expected 5 (or 0 where KVM runs fwait)"
    ;;
esac
echo "PASS"
