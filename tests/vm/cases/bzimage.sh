#!/bin/sh
# bzimage: a tiny bzImage (tests/guests/bzguest.*) is loaded through the
# Linux 64-bit boot protocol; its entry checks boot_params (setup header,
# cmdline, initrd, e820) and long mode, prints BZIMAGE-TEST: PASS and
# powers off: exit 0.
set -u
out="$TMPDIR/bzimage.out"
rc=0
"$QVM" @"$CONFIGS/bzimage.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'BZIMAGE-TEST: PASS' "$out" || fail "the guest did not pass"
grep -q 'FAIL:' "$out" && fail "a check failed"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
echo "PASS"
