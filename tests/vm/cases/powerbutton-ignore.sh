#!/bin/sh
# powerbutton-ignore: a guest that enabled the ACPI power button but never
# acts on it: the second SIGTERM cuts the power (3); so does the end of the
# grace period (QVM_SHUTDOWN_GRACE=1). A guest that never enabled the button
# (spin: no ACPI OS) loses power at the first SIGTERM, and qvm says why.
set -u
out="$TMPDIR/pbi.out"
fail() { cat "$out"; echo "FAIL: $*"; exit 1; }
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
# 1. second SIGTERM
"$QVM" @"$CONFIGS/powerbutton-ignore.qvmconf" >"$out" 2>&1 &
pid=$!
wait_for 'PWRBTN_EN set, ignoring it'
kill -TERM "$pid"
wait_for 'ACPI power button pressed'
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 3 ] || fail "qvm exited $rc after two SIGTERMs, expected 3"
grep -q 'SIGTERM again: power cut' "$out" || fail "no power-cut line"
cat "$out"
# 2. grace period
QVM_SHUTDOWN_GRACE=1 "$QVM" @"$CONFIGS/powerbutton-ignore.qvmconf" >"$out" 2>&1 &
pid=$!
wait_for 'PWRBTN_EN set, ignoring it'
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 3 ] || fail "qvm exited $rc after the grace period, expected 3"
grep -q 'did not power off within 1 s of the power button; power cut' "$out" ||
    fail "no grace-period line"
cat "$out"
# 3. no ACPI OS
"$QVM" @"$CONFIGS/spin.qvmconf" >"$out" 2>&1 &
pid=$!
wait_for 'spin: halting forever'
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 3 ] || fail "qvm exited $rc after SIGINT (no ACPI OS), expected 3"
grep -q 'SIGINT: the guest has not enabled the ACPI power button' "$out" ||
    fail "no reason given"
cat "$out"
echo "PASS"
