#!/bin/sh
# badinsn: the guest executes fwait, which kvm_pvm (software ring-0
# emulation) cannot emulate: qvm must exit 96 and print the registers and
# the instruction bytes at RIP ("9b ..."). On a KVM with VMX/SVM (the
# nested lab) fwait simply runs and the guest powers off: exit 0.
set -u
out="$TMPDIR/badinsn.out"
rc=0
"$QVM" @"$CONFIGS/badinsn.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
fail() { echo "FAIL: $*"; exit 1; }
grep -q 'badinsn: executing fwait' "$out" || fail "no banner"
case "$rc" in
96)
    grep -q 'internal error' "$out" || fail "no internal-error line"
    grep -q 'rip 0000000000' "$out" || fail "no register dump"
    grep -q 'code at linear 0x[0-9a-f]* (physical 0x[0-9a-f]*): 9b' "$out" ||
        fail "no instruction bytes"
    ;;
0)
    grep -q 'badinsn: fwait ran' "$out" || fail "exit 0 without fwait running"
    grep -q 'guest powered off' "$out" || fail "no power-off log line"
    ;;
*)
    fail "qvm exited $rc, expected 96 (or 0 where KVM runs fwait)"
    ;;
esac
echo "PASS"
