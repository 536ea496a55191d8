#!/bin/sh
# SIGTERM to qvm presses the ACPI power button: the guest shuts down
# cleanly (its message appears) and qvm exits 0.
# timeout: 150
. cases/lib.sh
start linux-wait.qvmconf
# "waiting": acpid holds every input event device (init.sh)
wait_for 'QVM-GUEST-INIT: waiting' 120 || { kill -9 "$pid"; fail "guest never got ready"; }
kill -TERM "$pid"
finish
[ "$rc" -eq 0 ] || fail "qvm exited $rc after SIGTERM, expected 0"
grep -q 'QVM-GUEST-INIT: power button, shutting down' "$out" ||
    fail "the guest did not see the power button"
echo PASS
