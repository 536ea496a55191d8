#!/bin/sh
# powerbutton: the guest enables PWRBTN_EN and polls PM1_STS; SIGTERM
# presses the ACPI power button; the guest prints "power button", clears
# PWRBTN_STS and powers off with _S5: qvm exits 0.
set -u
out="$TMPDIR/powerbutton.out"
fail() { cat "$out"; echo "FAIL: $*"; exit 1; }
"$QVM" @"$CONFIGS/powerbutton.qvmconf" >"$out" 2>&1 &
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
wait_for 'PWRBTN_EN set, waiting'
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || fail "qvm exited $rc after SIGTERM, expected 0"
grep -q 'SIGTERM: ACPI power button pressed' "$out" || fail "no press log line"
grep -q '^power button' "$out" || fail "the guest did not see the button"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
! grep -q FAIL "$out" || fail "the guest reported a failure"
cat "$out"
echo "PASS"
