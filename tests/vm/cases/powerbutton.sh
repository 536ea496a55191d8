#!/bin/sh
# powerbutton: the guest enables PWRBTN_EN and polls PM1_STS; SIGTERM
# presses the ACPI power button; the guest prints "power button", clears
# PWRBTN_STS and powers off with _S5: qvm exits 0.
set -u
. cases/lib.sh
qvm_start powerbutton @"$CONFIGS/powerbutton.qvmconf"
wait_for 'PWRBTN_EN set, waiting'
kill -TERM "$pid"
qvm_wait 0
grep -q 'SIGTERM: ACPI power button pressed' "$out" || fail "no press log line"
grep -q '^power button' "$out" || fail "the guest did not see the button"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
! grep -q FAIL "$out" || fail "the guest reported a failure"
cat "$out"
echo "PASS"
