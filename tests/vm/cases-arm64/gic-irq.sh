#!/bin/sh
# gic-irq: interrupts through the GICv3 (tests/guests/arm64/irq.c): the
# guest reads the INTIDs from its device tree (the PL011's SPI 37 and the
# SP805's SPI 64 of the configuration, the virtual timer's PPI 27),
# programs the distributor, its redistributor and the CPU interface, and
# takes every interrupt through VBAR_EL1, ICC_IAR1_EL1 and ICC_EOIR1_EL1,
# sleeping in WFI between them:
# - the virtual timer fires 10 times (CNTV_TVAL_EL0 re-armed by the
#   handler; not before 10 periods of CNTVCT, the guest checks);
# - the SP805's first expiry raises its SPI; the handler stops it (no
#   second expiry: no "expired" line);
# - the PL011's TX interrupt without FIFOs: a line written one character
#   per interrupt, each character an interrupt (the guest gives up after
#   5 s of its virtual timer);
# - the PL011's RX/RT interrupts (UARTIMSC) bring the lines fed on qvm's
#   stdin, each sent only after the guest echoed the one before (so each
#   costs at least one interrupt; one is longer than the 16-byte FIFO):
#   every byte comes back, in order, and the guest counts at least one
#   interrupt per line (it never reads the PL011 outside its handler).
# timeout: 240
set -u
. cases/lib.sh
fifo="$TMPDIR/in.fifo"
mkfifo "$fifo" || fail "mkfifo"
# Held open for writing here: qvm never sees an end of file.
exec 3<>"$fifo"
_qvm_starts=1
out="$TMPDIR/irq.out"
_qvm_out=$out
: >"$out" || fail "cannot create $out"
"$QVM" @"$CONFIGS/irq.qvmconf" <"$fifo" >"$out" 2>&1 3>&- &
pid=$!
long=0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
set -- hello "$long" 'the quick brown fox jumps over the lazy dog' end
wait_for 'irq: uart: ready for input'
for l in "$@"; do
    printf '%s\n' "$l" >&3
    wait_for "irq: echo $l"
done
qvm_wait 0
exec 3>&-
tr -d '\r' <"$out" >"$TMPDIR/irq.txt"
o=$TMPDIR/irq.txt
cat "$o"
grep -q 'irq: FAIL' "$o" && fail "the guest reported a failure"
grep -q '^irq: device tree: pl011 INTID 37, sp805 INTID 64, virtual timer INTID 27$' "$o" ||
    fail "the device tree's interrupt specifiers are not the configuration's"
grep -q '^irq: GICD_TYPER .*, redistributor 0 (last), ICC_SRE_EL1 0x0*[1357]$' "$o" ||
    fail "no redistributor for the vCPU, or no system-register CPU interface"
grep -q '^irq: timer: 10 interrupts at INTID 27, [0-9]* ticks at [0-9]* Hz' "$o" ||
    fail "the virtual timer's PPI did not come 10 times"
grep -q '^irq: sp805: 1 interrupt at INTID 64 after' "$o" ||
    fail "no SPI from the SP805"
grep -q 'expired' "$o" && fail "the SP805 expired a second time"
grep -q '^irq: uart tx: this line went out one character per TX interrupt$' "$o" ||
    fail "the line sent by TX interrupts did not arrive"
grep -q '^irq: uart tx: 65 characters in 65 interrupts, [1-9][0-9]* sleeps$' "$o" ||
    fail "not one TX interrupt per character"
# every line back, in order, nothing else
grep '^irq: echo ' "$o" | sed 's/^irq: echo //' >"$TMPDIR/echo.txt"
printf '%s\n' "$@" >"$TMPDIR/sent.txt"
cmp -s "$TMPDIR/echo.txt" "$TMPDIR/sent.txt" ||
    fail "the echo differs from the input: $(cat "$TMPDIR/echo.txt")"
bytes=$(($(wc -c <"$TMPDIR/sent.txt")))
s=$(sed -n 's/^irq: uart: \([0-9]*\) bytes, 4 lines in \([0-9]*\) interrupts at INTID 37, \([0-9]*\) sleeps$/\1 \2 \3/p' "$o")
[ -n "$s" ] || fail "no PL011 summary"
# shellcheck disable=SC2086 # three numbers: split on purpose
set -- $s
[ "$1" -eq "$bytes" ] || fail "the guest received $1 bytes, $bytes were sent"
[ "$2" -ge 4 ] || fail "$2 PL011 interrupts for 4 lines sent apart"
[ "$3" -ge 4 ] || fail "the guest slept $3 times waiting for 4 lines"
for t in timer sp805; do
    n=$(sed -n "s/^irq: $t: .* \([0-9]*\) sleeps$/\1/p" "$o")
    [ "${n:-0}" -ge 1 ] || fail "$t: the guest never slept in WFI"
done
grep -q '^irq: spurious [0-9]*, unexpected 0$' "$o" || fail "unexpected INTIDs"
grep -q '^irq: done$' "$o" || fail "the guest did not finish"
grep -q 'guest powered off' "$o" || fail "no power-off line"
echo PASS
