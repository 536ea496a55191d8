#!/bin/sh
# wdt-expire: the wdt guest arms `vdev wdt-ib700` (named wdog) with a 2 s
# timeout, pings it three times a second apart and stops pinging: qvm logs
# the expiry (which watchdog, the timeout) and exits 4. Lower bounds on the
# host time between the lines (never upper ones: the bed may be slow): the
# expiry comes at least 4 s after the start (the pings re-armed it) and
# at least 1 s after the last ping.
# timeout: 180
set -u
. cases/lib.sh
qvm_run_stamped wdt-expire @"$CONFIGS/wdt-expire.qvmconf"
cat "$out"
[ "$rc" = 4 ] || fail "qvm exited $rc, expected 4"
grep -q 'wdt: FAIL' "$out" && fail "the guest reported a failure"
grep -q '^wdt: stopped pinging' "$out" || fail "the guest did not get there"
line="wdt-ib700 'wdog' (io 0x441) expired: not pinged within 2 s; action terminate"
grep -qF "$line" "$out" || fail "no expiry line: $line"
[ "$(grep -c 'expired' "$out")" -eq 1 ] || fail "more than one expiry line"
since_start=$(stamp_ms 'wdt: started' 'expired')
since_last=$(stamp_ms 'wdt: stopped pinging' 'expired')
echo "expiry: $since_start ms after the start, $since_last ms after the last ping"
[ "$since_start" -ge 4000 ] ||
    fail "expired $since_start ms after the start (< 4000: pings did not re-arm it)"
[ "$since_last" -ge 1000 ] ||
    fail "expired $since_last ms after the last ping (< 1000)"
echo "PASS"
