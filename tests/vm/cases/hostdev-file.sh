#!/bin/sh
# hostdev-file: the hello guest's console into `hostdev >FILE` and into
# `hostdev >"|cat > FILE"` (output piped to a spawned command); both files
# hold the whole banner once qvm has exited.
set -u
. cases/lib.sh
rc=0
"$QVM" @"$CONFIGS/hostdev.qvmconf" vdev ser8250 hostdev ">$TMPDIR/out.txt" \
    >"$TMPDIR/log1" 2>&1 || rc=$?
cat "$TMPDIR/log1"
[ "$rc" -eq 0 ] || fail "file: qvm exited $rc"
grep -q 'Hello from the qvm guest' "$TMPDIR/out.txt" || fail "file: no banner"
grep -q 'powering off' "$TMPDIR/out.txt" || fail "file: output cut short"
grep -q 'Hello' "$TMPDIR/log1" && fail "file: output also went to stdout"
rc=0
"$QVM" @"$CONFIGS/hostdev.qvmconf" vdev ser8250 \
    hostdev ">|cat > '$TMPDIR/pipe.txt'" >"$TMPDIR/log2" 2>&1 || rc=$?
cat "$TMPDIR/log2"
[ "$rc" -eq 0 ] || fail "pipe: qvm exited $rc"
grep -q 'Hello from the qvm guest' "$TMPDIR/pipe.txt" || fail "pipe: no banner"
grep -q 'powering off' "$TMPDIR/pipe.txt" || fail "pipe: output cut short"
# batch: output is held until 200 ms of quiet, but flushed at exit.
rc=0
"$QVM" @"$CONFIGS/hostdev.qvmconf" vdev ser8250 batch 200000 \
    hostdev ">$TMPDIR/batch.txt" >"$TMPDIR/log3" 2>&1 || rc=$?
cat "$TMPDIR/log3"
[ "$rc" -eq 0 ] || fail "batch: qvm exited $rc"
grep -q 'powering off' "$TMPDIR/batch.txt" || fail "batch: output lost"
echo "PASS"
