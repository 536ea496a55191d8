#!/bin/sh
# vdev wdt-ib700 (action dump,terminate) under Debian's ib700wdt
# (timeout=10): /init opens /dev/watchdog, pets it for 12 s, closes it
# without the magic 'V' (the driver warns and leaves it running) and stops
# petting: qvm logs the expiry, writes the guest dump (the case adds `dump
# DIR`) and exits 4.
# timeout: 240
. cases/lib.sh
mkdir -p "$TMPDIR/dumps"
boot linux-wdt-starve.qvmconf dump "$TMPDIR/dumps"
grep -q 'QVM-GUEST-INIT: watchdog petted 12 times' "$out" ||
    fail "the guest did not pet the watchdog"
grep -q 'closed unexpectedly' "$out" ||
    fail "no 'closed unexpectedly' from ib700wdt"
grep -q 'QVM-GUEST-INIT: FAIL' "$out" && fail "the guest outlived the watchdog"
[ "$rc" -eq 4 ] || fail "qvm exited $rc, expected 4"
line="wdt-ib700 (io 0x441) expired: not pinged within 10 s; action dump,terminate"
grep -qF "$line" "$out" || fail "no expiry line: $line"
# The dump: a file in DIR, or (until guest dumps land) the warning that
# says none was written.
ls -l "$TMPDIR/dumps"
if [ -z "$(ls -A "$TMPDIR/dumps")" ]; then
    grep -q 'guest dumps are not implemented yet' "$out" ||
        fail "no dump written in $TMPDIR/dumps"
    echo "note: guest dumps are not implemented in this build"
fi
echo PASS
