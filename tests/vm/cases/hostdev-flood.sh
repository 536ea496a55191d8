#!/bin/sh
# hostdev-flood (reliability C3): 100 MB offered on qvm's stdin to a guest
# that never reads it: qvm reads only what fits the RX FIFO and exits at
# once; and a guest that writes 192 KiB to THR into a command that never
# reads (`hostdev >"|sleep 30"`): the vCPU is never blocked, qvm keeps at
# most its 64 KiB output buffer, drops the rest with a count, gives the
# sink 2 s at exit and ends the command.
set -u
. cases/lib.sh
rc=0
head -c 100000000 /dev/zero | "$QVM" @"$CONFIGS/hostdev.qvmconf" \
    vdev ser8250 hostdev - >"$TMPDIR/in.out" 2>&1 || rc=$?
cat "$TMPDIR/in.out"
[ "$rc" -eq 0 ] || fail "stdin flood: qvm exited $rc"
grep -q 'guest powered off' "$TMPDIR/in.out" || fail "stdin flood: no power-off"
rc=0
"$QVM" @"$CONFIGS/hostdev-flood.qvmconf" vdev ser8250 \
    hostdev '>|exec sleep 30' >"$TMPDIR/out.out" 2>&1 || rc=$?
cat "$TMPDIR/out.out"
[ "$rc" -eq 0 ] || fail "output flood: qvm exited $rc"
grep -q 'guest powered off' "$TMPDIR/out.out" || fail "output flood: no power-off"
grep -q 'byte(s) of guest output were dropped' "$TMPDIR/out.out" ||
    fail "output flood: no count of dropped output"
echo "PASS"
