#!/bin/sh
# The serial console works both ways: a command typed on qvm's standard
# input runs in the guest's shell and its output comes back.
. cases/lib.sh
out="$TMPDIR/console"
fifo="$TMPDIR/in"
mkfifo "$fifo"
"$QVM" @"$CONFIGS/linux-shell.qvmconf" <"$fifo" >"$out" 2>&1 &
pid=$!
exec 3>"$fifo"
i=0
until grep -q 'QVM-GUEST-INIT: shell ready' "$out"; do
    i=$((i + 1))
    [ $i -lt 600 ] || { kill -9 $pid; cat "$out"; fail "shell never came up"; }
    sleep 0.5
done
sleep 1
echo 'echo "answer-$((6 * 7))"' >&3
i=0
until grep -q 'answer-42' "$out"; do
    i=$((i + 1))
    [ $i -lt 60 ] || { kill -9 $pid; cat "$out"; fail "no answer from the guest shell"; }
    sleep 0.5
done
echo 'poweroff -f' >&3
rc=0
wait $pid || rc=$?
exec 3>&-
cat "$out"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
echo PASS
