#!/bin/sh
# hello64: a plain ELF64 guest is entered in 64-bit mode with the first
# 4 GiB identity-mapped; it prints its banner and powers off: exit 0.
set -u
out="$TMPDIR/hello64.out"
rc=0
"$QVM" @"$CONFIGS/hello64.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'Hello from the 64-bit qvm guest' "$out" || fail "no banner"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
echo "PASS"
