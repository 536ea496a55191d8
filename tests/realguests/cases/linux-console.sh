#!/bin/sh
# The serial console works both ways: a command typed on qvm's standard
# input runs in the guest's shell and its output comes back.
# timeout: 150
. cases/lib.sh
fifo="$TMPDIR/in"
mkfifo "$fifo"
exec 3<>"$fifo"
stdin=$fifo
start linux-shell.qvmconf
wait_for 'QVM-GUEST-INIT: shell ready' 120 || { kill -9 "$pid"; fail "shell never came up"; }
sleep 1
echo 'echo "answer-$((6 * 7))"' >&3
wait_for 'answer-42' 30 || { kill -9 "$pid"; fail "no answer from the guest shell"; }
echo 'poweroff -f' >&3
finish
exec 3>&-
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
echo PASS
