#!/bin/sh
# kbdreset: the kbdreset guest probes the 8042 as Linux does, then writes
# 0xfe to port 0x64 (pulse the reset line): qvm exits 0 and logs
# "guest reset (8042)".
set -u
out="$TMPDIR/kbdreset.out"
rc=0
"$QVM" @"$CONFIGS/kbdreset.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'kbd: self test 0x00000055' "$out" || fail "self test is not 0x55"
grep -q 'kbd: kbd test 0x00000000' "$out" || fail "interface test is not 0"
grep -q 'kbd: reset ack 0x000000fa' "$out" || fail "keyboard reset not acked"
grep -q 'kbd: reset bat 0x000000aa' "$out" || fail "keyboard BAT is not 0xaa"
grep -q 'kbd: enable ack 0x000000fa' "$out" || fail "0xf4 not acked"
grep -q 'guest reset (8042)' "$out" || fail "no 'guest reset (8042)' line"
grep -q 'still running after 0xfe' "$out" && fail "the guest ran on"
echo "PASS"
