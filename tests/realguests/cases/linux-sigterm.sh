#!/bin/sh
# SIGTERM to qvm presses the ACPI power button: the guest shuts down
# cleanly (its message appears) and qvm exits 0.
. cases/lib.sh
out="$TMPDIR/console"
"$QVM" @"$CONFIGS/linux-wait.qvmconf" </dev/null >"$out" 2>&1 &
pid=$!
i=0
until grep -q 'QVM-GUEST-INIT: waiting' "$out"; do
    i=$((i + 1))
    [ $i -lt 600 ] || { kill -9 $pid; cat "$out"; fail "guest never got ready"; }
    sleep 0.5
done
sleep 1
kill -TERM $pid
rc=0
wait $pid || rc=$?
cat "$out"
[ "$rc" -eq 0 ] || fail "qvm exited $rc after SIGTERM, expected 0"
grep -q 'QVM-GUEST-INIT: power button, shutting down' "$out" ||
    fail "the guest did not see the power button"
echo PASS
