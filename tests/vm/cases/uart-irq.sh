#!/bin/sh
# uart-irq: the uartirq guest transmits 300 lines on COM1 as Linux's 8250
# driver does on an edge-triggered ISA IRQ (THRE interrupts, 16 bytes each,
# start/stop_tx through IER, polled "printk"s with IER saved and restored,
# the startup THRE tests with the line masked). A lost edge leaves it
# waiting forever; every line must arrive, in order, and qvm exits 0.
# timeout: 120
set -u
. cases/lib.sh
qvm_start uartirq @"$CONFIGS/uartirq.qvmconf"
qvm_wait 0
grep -q 'uartirq: FAIL' "$out" && fail "the guest reported a failure"
grep -q 'uartirq: done' "$out" || fail "the guest did not finish"
# A printk may land in the middle of a line still in the transmit buffer
# (as on Linux): take the printk lines out and join the tty line again.
awk '{ gsub(/\r/, "")
    if (match($0, /uartirq: printk [0-9]+$/)) {
        carry = carry substr($0, 1, RSTART - 1); pk++; next
    }
    print carry $0; carry = "" }
    END { print "printks " pk }' "$out" >"$TMPDIR/tty"
n=$(grep -c '^uartirq: line [0-9]* the quick brown fox jumps over the lazy dog$' "$TMPDIR/tty")
[ "$n" -eq 300 ] || fail "$n of 300 lines arrived intact"
i=0
for l in $(sed -n 's/^uartirq: line \([0-9]*\) .*/\1/p' "$TMPDIR/tty"); do
    [ "$l" -eq "$i" ] || fail "line $l where line $i was expected"
    i=$((i + 1))
done
grep -q '^printks 43$' "$TMPDIR/tty" || fail "printk lines missing"
grep 'uartirq: sent' "$out"
echo "PASS"
