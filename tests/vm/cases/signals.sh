#!/bin/sh
# signals: while the guest is halted inside KVM (spin guest: cli; hlt),
# SIGUSR1 makes qvm log its status and SIGQUIT cuts the power: exit 3.
set -u
out="$TMPDIR/signals.out"
fail() { cat "$out"; echo "FAIL: $*"; exit 1; }
"$QVM" @"$CONFIGS/spin.qvmconf" >"$out" 2>&1 &
pid=$!
wait_for() {
    n=0
    while ! grep -q "$1" "$out"; do
        n=$((n + 1))
        if [ "$n" -gt 100 ]; then
            kill -9 "$pid" 2>/dev/null
            fail "timed out waiting for '$1'"
        fi
        sleep 0.1
    done
}
wait_for 'spin: halting forever'
kill -USR1 "$pid"
wait_for 'status: vCPU 0'
kill -QUIT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 3 ] || fail "qvm exited $rc after SIGQUIT, expected 3"
grep -q 'SIGQUIT: power cut' "$out" || fail "no power-cut log line"
cat "$out"
echo "PASS"
