#!/bin/sh
# hostdev-pty: `hostdev pty` makes a pseudo-terminal and qvm names it
# ("qvm: info: ser8250: console on /dev/pts/N"); a reader on it gets the
# guest's banner. The guest (spin) halts forever; SIGQUIT ends qvm. Then
# input: the uart guest on a pty gets "ping" typed on it (CR, as a raw
# terminal sends) and answers "got: ping" there.
set -u
. cases/lib.sh
qvm_start pty @"$CONFIGS/hostdev-pty.qvmconf"
wait_for 'ser8250: console on /dev/'
pty=$(sed -n 's/.*ser8250: console on \(\/dev\/[^ ]*\).*/\1/p' "$out" | head -n 1)
[ -c "$pty" ] || { kill -9 "$pid"; fail "$pty is not a character device"; }
cat "$pty" >"$TMPDIR/pty.txt" 2>/dev/null &
cpid=$!
wait_for_in "$TMPDIR/pty.txt" 'spin: halting forever'
kill -QUIT "$pid"
qvm_wait 3
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
cat "$out"

qvm_start pty-uart @"$CONFIGS/hostdev-pty-uart.qvmconf"
wait_for 'ser8250: console on /dev/'
pty=$(sed -n 's/.*ser8250: console on \(\/dev\/[^ ]*\).*/\1/p' "$out" | head -n 1)
cat "$pty" >"$TMPDIR/pty2.txt" 2>/dev/null &
cpid=$!
# Type only once the reader is there and the guest talks on the pty:
# otherwise its answer can go out before anyone reads it.
wait_for_in "$TMPDIR/pty2.txt" ''
printf 'ping\r' >"$pty"
rc=0
wait "$pid" || rc=$?
# The reader ends by itself at the pty's hang-up once it has read what is
# buffered; killing it at once would lose the guest's last line. (It is
# a zombie once it ended: kill -0 cannot tell, wait_exit can.)
wait_exit "$cpid" 30 || echo "the pty reader did not end at the hang-up"
cat "$out" "$TMPDIR/pty2.txt"
[ "$rc" -eq 0 ] || fail "uart guest on a pty: qvm exited $rc"
# "got: p..." proves the typed line reached the guest. The tail of its last
# line can be lost: the pty hangs up when qvm exits right after the guest
# powers off, and the kernel drops what the reader had not read yet.
grep -q '^got: p' "$TMPDIR/pty2.txt" || fail "no echo of the pty input"
echo "PASS"
