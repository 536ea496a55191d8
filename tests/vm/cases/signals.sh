#!/bin/sh
# signals: while the guest is halted inside KVM (spin guest: cli; hlt),
# SIGUSR1 makes qvm log its status and SIGQUIT cuts the power: exit 3.
set -u
. cases/lib.sh
qvm_start signals @"$CONFIGS/spin.qvmconf"
wait_for 'spin: halting forever'
kill -USR1 "$pid"
wait_for 'status: vCPU 0'
kill -QUIT "$pid"
qvm_wait 3
grep -q 'SIGQUIT: power cut' "$out" || fail "no power-cut log line"
cat "$out"
echo "PASS"
