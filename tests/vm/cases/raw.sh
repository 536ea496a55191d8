#!/bin/sh
# raw: a flat binary with no header (guests/raw.bin, objcopy -O binary),
# loaded by `load 0x200000,guests/raw.bin` and entered at its first byte in
# 32-bit protected mode with qvm's flat code segment 0x10 (docs/boot.md);
# it prints a banner on COM1 and powers off.
set -u
out="$TMPDIR/raw.out"
rc=0
"$QVM" @"$CONFIGS/raw.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
if od -An -tx1 -N4 guests/raw.bin | grep -q '7f 45 4c 46'; then
    fail "raw.bin is an ELF"
fi
grep -q 'Hello from the raw qvm guest' "$out" || fail "no banner"
grep -q 'entry 0x00200000 cs 0x00000010' "$out" || fail "wrong entry address or code segment"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
if grep -q 'still running after power-off' "$out"; then
    fail "guest ran on after power-off"
fi
echo "PASS"
