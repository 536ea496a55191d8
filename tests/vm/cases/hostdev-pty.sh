#!/bin/sh
# hostdev-pty: `hostdev pty` makes a pseudo-terminal and qvm names it
# ("qvm: info: ser8250: console on /dev/pts/N"); a reader on it gets the
# guest's banner. The guest (spin) halts forever; SIGQUIT ends qvm. Then
# input: the uart guest on a pty gets "ping" typed on it (CR, as a raw
# terminal sends) and answers "got: ping" there.
set -u
out="$TMPDIR/pty.out"
fail() { cat "$out"; echo "FAIL: $*"; exit 1; }
"$QVM" @"$CONFIGS/hostdev-pty.qvmconf" >"$out" 2>&1 &
pid=$!
n=0
while ! grep -q 'ser8250: console on /dev/' "$out"; do
    n=$((n + 1))
    if [ "$n" -gt 100 ]; then
        kill -9 "$pid" 2>/dev/null
        fail "qvm did not name its pty"
    fi
    sleep 0.1
done
pty=$(sed -n 's/.*ser8250: console on \(\/dev\/[^ ]*\).*/\1/p' "$out" | head -n 1)
[ -c "$pty" ] || { kill -9 "$pid"; fail "$pty is not a character device"; }
cat "$pty" >"$TMPDIR/pty.txt" 2>/dev/null &
cpid=$!
n=0
while ! grep -q 'spin: halting forever' "$TMPDIR/pty.txt" 2>/dev/null; do
    n=$((n + 1))
    if [ "$n" -gt 100 ]; then
        kill -9 "$pid" "$cpid" 2>/dev/null
        fail "no guest output on $pty"
    fi
    sleep 0.1
done
kill -QUIT "$pid"
rc=0
wait "$pid" || rc=$?
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
[ "$rc" -eq 3 ] || fail "qvm exited $rc after SIGQUIT, expected 3"
cat "$out"

out="$TMPDIR/pty2.out"
"$QVM" @"$CONFIGS/hostdev-pty-uart.qvmconf" >"$out" 2>&1 &
pid=$!
n=0
while ! grep -q 'ser8250: console on /dev/' "$out"; do
    n=$((n + 1))
    if [ "$n" -gt 100 ]; then
        kill -9 "$pid" 2>/dev/null
        fail "qvm did not name its pty (uart guest)"
    fi
    sleep 0.1
done
pty=$(sed -n 's/.*ser8250: console on \(\/dev\/[^ ]*\).*/\1/p' "$out" | head -n 1)
cat "$pty" >"$TMPDIR/pty2.txt" 2>/dev/null &
cpid=$!
# Type only once the reader is there and the guest talks on the pty:
# otherwise its answer can go out before anyone reads it.
n=0
while [ ! -s "$TMPDIR/pty2.txt" ]; do
    n=$((n + 1))
    if [ "$n" -gt 100 ]; then
        kill -9 "$pid" "$cpid" 2>/dev/null
        fail "no guest output on $pty (uart guest)"
    fi
    sleep 0.1
done
printf 'ping\r' >"$pty"
rc=0
wait "$pid" || rc=$?
# The reader ends by itself at the pty's hang-up once it has read what is
# buffered; killing it at once would lose the guest's last line.
n=0
while kill -0 "$cpid" 2>/dev/null && [ "$n" -lt 30 ]; do
    n=$((n + 1))
    sleep 0.1
done
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
cat "$out" "$TMPDIR/pty2.txt"
[ "$rc" -eq 0 ] || fail "uart guest on a pty: qvm exited $rc"
# "got: p..." proves the typed line reached the guest. The tail of its last
# line can be lost: the pty hangs up when qvm exits right after the guest
# powers off, and the kernel drops what the reader had not read yet.
grep -q '^got: p' "$TMPDIR/pty2.txt" || fail "no echo of the pty input"
echo "PASS"
