#!/bin/sh
# rtc: the rtc guest reads the MC146818 (waiting for UIP clear) and prints
# "rtc: YYYY-MM-DD HH:MM:SS"; it must be host UTC within a few seconds, in
# 24h BCD mode (reg 0x0b,0x02) and binary 12h mode (reg 0x0b,0x04). The
# `reg 0x40,...` presets come back through CMOS byte 0x40.
set -u
. cases/lib.sh
check() { # CONFIG EXPECTED-REG-B EXPECTED-CMOS-0x40
    out="$TMPDIR/$1.out"
    rc=0
    before=$(date -u +%s)
    "$QVM" @"$CONFIGS/$1.qvmconf" >"$out" 2>&1 || rc=$?
    after=$(date -u +%s)
    cat "$out"
    [ "$rc" -eq 0 ] || fail "$1: qvm exited $rc, expected 0"
    line=$(grep '^rtc: [0-9]' "$out" | tr -d '\r')
    [ -n "$line" ] || fail "$1: no time line"
    stamp=${line#rtc: }
    t=$(date -u -d "$stamp" +%s 2>/dev/null) ||
        fail "$1: '$stamp' is not a date"
    [ "$t" -ge $((before - 2)) ] && [ "$t" -le $((after + 2)) ] ||
        fail "$1: guest time $stamp is not host UTC ($before..$after)"
    grep -q "reg B 0x000000$2 reg D 0x00000080 cmos 0x40 0x000000$3" "$out" ||
        fail "$1: registers B/D or the CMOS preset are wrong"
    grep -q 'rtc: cmos ram ok' "$out" || fail "$1: CMOS RAM write/read"
}
check rtc 02 a5
check rtc12 04 5a
echo "PASS"
