#!/bin/sh
# wdt-ping: the wdt guest arms `vdev wdt-ib700` with a 4 s timeout
# (0x443), pings it at every RTC second for 10 s (more than two timeouts:
# each ping must re-arm it), stops it with `out dx, ax` at 0x441, waits
# 6 s more (a stopped watchdog must not fire) and powers off: qvm exits 0
# without an expiry line.
# timeout: 180
set -u
out="$TMPDIR/wdt-ping.out"
rc=0
"$QVM" @"$CONFIGS/wdt-ping.qvmconf" </dev/null >"$out" 2>&1 || rc=$?
tr -d '\r' <"$out"
fail() { echo "FAIL: $*"; exit 1; }
grep -q 'wdt: FAIL' "$out" && fail "the guest reported a failure"
grep -q 'expired' "$out" && fail "the watchdog expired"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'wdt: pinged [0-9]* times' "$out" || fail "the guest did not ping"
grep -q '^wdt: done' "$out" || fail "the guest did not finish"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
echo "PASS"
