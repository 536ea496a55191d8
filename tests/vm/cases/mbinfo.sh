#!/bin/sh
# mbinfo: the multiboot 1 info that qvm builds, as the mbinfo guest
# (tests/guests/mbinfo.c) prints it on COM1: the memory map matches the
# ram/rom/reserve lines of mbinfo.qvmconf (RAM type 1, ROM and reserved
# not), mem_lower/mem_upper, the command line (after the kernel's path),
# the boot loader name and both modules with their strings and contents.
# mbaout.sh runs this with MBINFO_NAME=mbaout (the a.out-kludge build).
set -u
name=${MBINFO_NAME:-mbinfo}
kernel=${MBINFO_KERNEL:-guests/mbinfo.elf}
out="$TMPDIR/$name.out"
rc=0
"$QVM" @"$CONFIGS/$name.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
has() { grep -qF -- "$1" "$out" || fail "missing line: $1"; }
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
has 'mbinfo: magic 0x2badb002'
has "cmdline: '$kernel mbinfo cmdline test'"
has "boot_loader_name: 'qvm'"
has 'mods_count 2'
# Modules: page-aligned, the size of the file, the path as the string,
# the file's first two bytes.
m1=$(grep "^mod 0: " "$out" | tr -d '\r')
m2=$(grep "^mod 1: " "$out" | tr -d '\r')
echo "$m1" | grep -q "^mod 0: 0x.....000-0x........ 'configs/mbinfo-mod1.txt' first-bytes 4d 4f$" ||
    fail "module 0: '$m1'"
echo "$m2" | grep -q "^mod 1: 0x.....000-0x........ 'configs/mbinfo-mod2.txt' first-bytes 5a 7a$" ||
    fail "module 1: '$m2'"
for m in "$m1:configs/mbinfo-mod1.txt" "$m2:configs/mbinfo-mod2.txt"; do
    line=${m%:*}
    file=${m##*:}
    want=$(wc -c <"$file" | tr -d ' ')
    s=$(echo "$line" | sed 's/^mod .: 0x\([0-9a-f]*\)-.*/\1/')
    e=$(echo "$line" | sed 's/^mod .: 0x[0-9a-f]*-0x\([0-9a-f]*\) .*/\1/')
    [ $((0x$e - 0x$s)) -eq "$want" ] || fail "$file: module is $((0x$e - 0x$s)) bytes, the file $want"
done
# Memory map: RAM (type 1) is exactly the three ram lines, the low one
# possibly without qvm's firmware pages below 640 KiB (the ACPI NVS page
# with the FACS at 0x9f800, type 4, then the MP table); the ROMs and the
# reserved ranges are there and not RAM.
tr -d '\r' <"$out" | grep '^mmap: ' >"$TMPDIR/mmap"
ram=$(awk '$4 == 1 { print $2, $3 }' "$TMPDIR/mmap")
low=$(echo "$ram" | sed -n 1p)
case "$low" in
"0x0000000000000000 0x000000000009f800")
    lo_kib=638
    grep -q '^mmap: 0x000000000009f800 0x0000000000000400 4$' "$TMPDIR/mmap" ||
        fail "no ACPI NVS entry for the FACS page at 0x9f800"
    ;;
"0x0000000000000000 0x000000000009fc00") lo_kib=639 ;;
"0x0000000000000000 0x00000000000a0000") lo_kib=640 ;;
*) fail "low RAM entry: '$low'" ;;
esac
[ "$(echo "$ram" | sed 1d)" = "0x0000000000100000 0x0000000001f00000
0x0000000004000000 0x0000000001000000" ] || fail "RAM entries: $ram"
for r in 0x00000000000c0000 0x0000000002000000 0x0000000003000000; do
    awk -v r="$r" '$2 <= r && $4 != 1 { ok = 1 } $2 <= r && $4 == 1 { ok = 0 }
        END { exit !ok }' "$TMPDIR/mmap" || fail "$r is not covered by a non-RAM entry"
done
grep -q '^mmap: 0x0000000002000000 0x0000000000100000 [2-9]' "$TMPDIR/mmap" ||
    fail "no entry for the rom at 32 MiB"
grep -q '^mmap: 0x0000000003000000 0x0000000000100000 [2-9]' "$TMPDIR/mmap" ||
    fail "no entry for the reserve at 48 MiB"
# mem_lower: 638 to 640 KiB, and what the memory map says; mem_upper: the
# RAM that runs on from 1 MiB (31 MiB).
lo=$(tr -d '\r' <"$out" | sed -n 's/^mem_lower \([0-9]*\) mem_upper \([0-9]*\)$/\1/p')
up=$(tr -d '\r' <"$out" | sed -n 's/^mem_lower \([0-9]*\) mem_upper \([0-9]*\)$/\2/p')
case "$lo" in 638 | 639 | 640) ;; *) fail "mem_lower '$lo'" ;; esac
[ "$lo" -eq "$lo_kib" ] || fail "mem_lower $lo, but the memory map has $lo_kib KiB of low RAM"
[ "$up" = 31744 ] || fail "mem_upper '$up', expected 31744"
has 'mbinfo: done'
grep -q 'guest powered off' "$out" || fail "no power-off log line"
if grep -q 'still running after power-off' "$out"; then
    fail "guest ran on after power-off"
fi
echo "PASS"
