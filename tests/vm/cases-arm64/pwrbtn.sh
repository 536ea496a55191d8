#!/bin/sh
# pwrbtn: the signals on aarch64 (docs/exit-codes.md).
# - SIGTERM presses qvm's power button, a gpio-keys KEY_POWER pin on a
#   PL061 (devices/pl061.h): the pwrbtn guest (tests/guests/arm64/
#   pwrbtn.c), which enabled the pin's interrupt as gpio-keys does, sees
#   the press and the release and powers off with PSCI SYSTEM_OFF: exit 0.
# - SIGUSR1 logs the status report (vCPUs, devices: the power button's
#   PL061 with its pin and line, the PL011); the guest runs on.
# - SIGQUIT cuts the power: exit 3.
# - SIGTERM to a guest that never enabled the key's interrupt (the
#   wdt_pet guest, while it pings its watchdog) cuts the power: exit 3.
# timeout: 300
set -u
. cases/lib.sh
# The guest's lines in $out, qvm's in $err: qvm logs while the guest
# prints (a shared file would split the guest's line).
QVM_ERR_APART=1
qvm_start term @"$CONFIGS/pwrbtn.qvmconf"
wait_for 'pwrbtn: ready'
kill -TERM "$pid"
wait_for 'pwrbtn: power key pressed'
qvm_wait 0
cat "$out" "$err"
grep -q 'pwrbtn: FAIL' "$out" && fail "the guest reported a failure"
grep -q 'pwrbtn: pl061 ids 0x0000000000041061 0x00000000b105f00d' "$out" ||
    fail "PL061 PrimeCell IDs wrong"
grep -q 'SIGTERM: GPIO power key (KEY_POWER) pressed' "$err" ||
    fail "no power-key line"
grep -q 'pwrbtn: released' "$out" || fail "no release"
grep -q 'guest powered off' "$err" || fail "no power-off line"

qvm_start usr1 @"$CONFIGS/pwrbtn.qvmconf"
wait_for 'pwrbtn: ready'
kill -USR1 "$pid"
wait_for_in "$err" 'status: vCPU 0'
wait_for_in "$err" 'gpio-power.*ie 0x8'
kill -QUIT "$pid"
qvm_wait 3
cat "$out" "$err"
grep -q 'status: system arm64-pwrbtn' "$err" || fail "no status line"
grep -q 'SIGQUIT: power cut' "$err" || fail "no power-cut line"
grep -q 'pwrbtn: power key pressed' "$out" && fail "SIGUSR1 or SIGQUIT pressed the key"

# A guest that does not listen to the key: SIGTERM cuts the power.
qvm_start deaf @"$CONFIGS/wdt-pet.qvmconf"
wait_for 'wdt: started'
kill -TERM "$pid"
qvm_wait 3
cat "$out" "$err"
grep -q 'not enabled the GPIO power key' "$err" || fail "no power-cut reason"
echo PASS
