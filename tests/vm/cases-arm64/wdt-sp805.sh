#!/bin/sh
# wdt-sp805: `vdev wdt-sp805` driven by the aarch64 guest
# tests/guests/arm64/wdt.c as Linux's sp805_wdt drives it, counting at
# 1 kHz with WdogLoad 1999 (a period of 2 s: the reset 4 s after a ping).
# - wdt_pet reads the PrimeCell IDs, pings every 0.5 s for 6 s, stops the
#   watchdog, waits 5 s and powers off: exit 0, no expiry; the device tree
#   (fdt-dump-file) has the watchdog (arm,sp805) and its clock.
# - wdt_starve pings once and stops: it sees the interrupt of the first
#   expiry (WdogRIS/MIS), and qvm ends at the second with exit 4, the
#   expiry line, and the guest dump (`action dump,terminate`, `dump DIR`)
#   written before the end: an ELF core. Lower bound only on the host time
#   from "starving" to the expiry (the bed may be slow).
# timeout: 240
set -u
. cases/lib.sh
qvm_run pet @"$CONFIGS/wdt-pet.qvmconf" set fdt-dump-file "$TMPDIR/pet.dtb"
o=$out
[ "$rc" -eq 0 ] || fail "wdt_pet: qvm exited $rc, expected 0"
grep -q 'wdt: FAIL' "$o" && fail "the guest reported a failure"
grep -q 'wdt: sp805 ids 0x0000000000141805 0x00000000b105f00d' "$o" ||
    fail "PrimeCell IDs wrong"
grep -q 'wdt: done' "$o" || fail "the pinged guest did not get to the end"
grep -q 'expired' "$o" && fail "the watchdog expired although pinged"
grep -q 'guest powered off' "$o" || fail "no power-off line"
grep -q 'arm,sp805' "$TMPDIR/pet.dtb" || fail "no arm,sp805 in the device tree"
grep -q 'watchdog-clk-1c0f0000' "$TMPDIR/pet.dtb" ||
    fail "no watchdog clock in the device tree"

mkdir "$TMPDIR/d" || fail "mkdir"
qvm_run_stamped starve @"$CONFIGS/wdt-starve.qvmconf" dump "$TMPDIR/d"
cat "$out"
[ "$rc" -eq 4 ] || fail "wdt_starve: qvm exited $rc, expected 4"
grep -q 'wdt: FAIL' "$out" && fail "the guest reported a failure"
grep -q 'wdt: still alive' "$out" && fail "the guest outlived its watchdog"
grep -q 'wdt: interrupt (first expiry)' "$out" ||
    fail "the guest did not see the first expiry's interrupt"
line="wdt-sp805 'wdog' (mem 0x1c0f0000) expired: not pinged within two periods of 2000 ms; action dump,terminate"
grep -qF "$line" "$out" || fail "no expiry line: $line"
[ "$(grep -c 'expired' "$out")" -eq 1 ] || fail "more than one expiry line"
grep -q 'dump written' "$out" || fail "no dump line"
set -- "$TMPDIR"/d/arm64-wdt-starve-*.gcore
[ -f "$1" ] || fail "no dump in $TMPDIR/d"
[ "$(od -An -tx1 -N4 "$1" | tr -d ' ')" = 7f454c46 ] || fail "the dump is not ELF"
ms=$(stamp_ms 'wdt: starving' 'expired')
echo "expiry $ms ms after the last ping"
[ "$ms" -ge 3000 ] || fail "expired $ms ms after the last ping (< 3000)"
echo PASS
