#!/bin/sh
# pvh: an ELF32 with the Xen PHYS32_ENTRY note (tests/guests/pvhguest.*)
# is entered through PVH; it checks hvm_start_info (cmdline, initrd as
# module 0, memmap) and the 32-bit entry state, prints PVH-TEST: PASS and
# powers off: exit 0.
set -u
out="$TMPDIR/pvh.out"
rc=0
"$QVM" @"$CONFIGS/pvh.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'PVH-TEST: PASS' "$out" || fail "the guest did not pass"
grep -q 'FAIL:' "$out" && fail "a check failed"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
echo "PASS"
