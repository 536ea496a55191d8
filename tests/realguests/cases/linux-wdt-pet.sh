#!/bin/sh
# vdev wdt-ib700 under Debian's ib700wdt (timeout=10: index 10, 10 s):
# /init opens /dev/watchdog, pets it once a second for 12 s (more than a
# timeout: each pet re-arms it), closes it with the magic 'V' (the driver
# writes 0x441), lives 15 s more (the watchdog is stopped) and powers off:
# qvm exits 0 and never logs an expiry.
# timeout: 240
. cases/lib.sh
boot linux-wdt-pet.qvmconf
grep -q 'expired' "$out" && fail "the watchdog expired"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'ib700wdt: WDT driver for IB700' "$out" ||
    fail "the kernel did not load ib700wdt"
grep -q 'QVM-GUEST-INIT: watchdog opened' "$out" ||
    fail "the guest could not open /dev/watchdog"
grep -q 'QVM-GUEST-INIT: watchdog petted 12 times' "$out" ||
    fail "the guest did not pet the watchdog"
grep -q 'QVM-GUEST-INIT: alive 15 s after the magic close' "$out" ||
    fail "the guest did not live on after the magic close"
grep -q 'QVM-GUEST-INIT: done, powering off' "$out" || fail "no power-off"
echo PASS
