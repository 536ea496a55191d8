#!/bin/sh
# console=hvc0 on virtio-console, both ways: the 8250 goes nowhere, so all
# that comes out came through hvc0; a command typed on qvm's standard input
# runs in the guest's shell and its output comes back.
# timeout: 150
. cases/lib.sh
fifo="$TMPDIR/in"
mkfifo "$fifo"
exec 3<>"$fifo"
stdin=$fifo
start linux-virtio-hvc.qvmconf
wait_for 'QVM-GUEST-INIT: shell ready' 120 || { kill -9 "$pid"; fail "no shell on hvc0"; }
sleep 1
echo 'cat /proc/consoles; echo "answer-$((6 * 7))"' >&3
wait_for 'answer-42' 30 || { kill -9 "$pid"; fail "no answer from the shell on hvc0"; }
echo 'poweroff -f' >&3
finish
exec 3>&-
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q '^hvc0 .*(EC' "$out" || grep -q '^hvc0 ' "$out" || fail "hvc0 is not a console (/proc/consoles)"
grep -q 'QVM-GUEST-INIT: cmdline: .*console=hvc0' "$out" || fail "the markers did not come through hvc0"
echo PASS
