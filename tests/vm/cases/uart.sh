#!/bin/sh
# uart: the uart guest programs COM1 (divisor, FIFOs), takes the THR-empty
# and received-data interrupts through the in-kernel IOAPIC (line 4), reads
# the line fed on qvm's stdin, echoes "got: ping", checks loopback mode and
# an overrun, and powers off: qvm exits 0.
set -u
out="$TMPDIR/uart.out"
rc=0
printf 'ping\n' | "$QVM" @"$CONFIGS/uart.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'uart: FAIL' "$out" && fail "the guest reported a failure"
grep -q 'uart: THRE interrupt ok' "$out" || fail "no THRE interrupt"
grep -q '^got: ping' "$out" || fail "the guest did not echo the input"
grep -q 'loopback: ok' "$out" || fail "loopback checks did not pass"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
echo "PASS"
