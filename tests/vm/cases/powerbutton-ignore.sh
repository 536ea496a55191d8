#!/bin/sh
# powerbutton-ignore: a guest that enabled the ACPI power button but never
# acts on it: the second SIGTERM cuts the power (3); so does the end of the
# grace period (QVM_SHUTDOWN_GRACE=1). A guest that never enabled the button
# (spin: no ACPI OS) loses power at the first SIGTERM, and qvm says why.
# Each step has its own output file (cases/lib.sh).
set -u
. cases/lib.sh
# 1. second SIGTERM
qvm_start twice @"$CONFIGS/powerbutton-ignore.qvmconf"
wait_for 'PWRBTN_EN set, ignoring it'
kill -TERM "$pid"
wait_for 'ACPI power button pressed'
kill -TERM "$pid"
qvm_wait 3
grep -q 'SIGTERM again: power cut' "$out" || fail "no power-cut line"
cat "$out"
# 2. grace period
export QVM_SHUTDOWN_GRACE=1
qvm_start grace @"$CONFIGS/powerbutton-ignore.qvmconf"
unset QVM_SHUTDOWN_GRACE
wait_for 'PWRBTN_EN set, ignoring it'
kill -TERM "$pid"
qvm_wait 3
grep -q 'did not power off within 1 s of the power button; power cut' "$out" ||
    fail "no grace-period line"
cat "$out"
# 3. no ACPI OS
qvm_start noacpi @"$CONFIGS/spin.qvmconf"
wait_for 'spin: halting forever'
kill -INT "$pid"
qvm_wait 3
grep -q 'SIGINT: the guest has not enabled the ACPI power button' "$out" ||
    fail "no reason given"
cat "$out"
echo "PASS"
