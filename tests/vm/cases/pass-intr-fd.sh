#!/bin/sh
# pass-intr-fd: a host interrupt passed with `pass intr ...=fd:N`
# (docs/passthrough.md) from a descriptor qvm inherits: a FIFO this script
# holds open read-write on descriptor 3 and feeds, one byte per interrupt.
#   - the passfd guest (tests/guests/passfd.c) has IOAPIC input 10 level,
#     active high (`pass intr ioapic:10=fd:3`): no interrupt before a
#     byte; 5 rounds: it prints "waiting for interrupt K", the script
#     writes one byte, the interrupt arrives once and not again after the
#     guest's EOI; then a round without a byte, and no interrupt;
#   - once with KVM's in-kernel irqchip (a KVM irqfd with resample), once
#     with the split irqchip (QVM_IRQCHIP=split: qvm's IOAPIC model's EOI
#     hook); qvm's start line for the source and its counts at exit: 5
#     host interrupts, 5 raised, 0 coalesced, 5 EOIs;
#   - dryrun shows the source.
# timeout: 300
set -u
. cases/lib.sh
fifo=$TMPDIR/pass-intr-fd.fifo
mkfifo "$fifo" || fail "mkfifo"
# Read-write: neither this shell nor qvm waits for the other end, and qvm
# never reads an end of file.
exec 3<>"$fifo"
conf=$CONFIGS/pass-intr-fd.qvmconf

qvm_run dryrun @"$conf" dryrun
[ "$rc" = 0 ] || fail "dryrun exited $rc"
grep -q "intr ioapic:10=fd:3" "$out" || fail "dryrun does not show the host source"
grep -q "host descriptor 3 (inherited), level until the guest's EOI" "$out" ||
    fail "dryrun does not show the descriptor"

run() { # NAME MECHANISM: one run, fed a byte per "waiting" line
    qvm_start "$1" @"$conf"
    wait_for '^passfd: no interrupt before a byte'
    for k in 1 2 3 4 5; do
        wait_for "^passfd: waiting for interrupt $k"
        printf x >&3 || fail "cannot write to the FIFO"
    done
    wait_for '^passfd: waiting for no interrupt'
    qvm_wait 0
    cat "$out"
    guest_lines passfd 'passfd: no interrupt before a byte' \
        'passfd: interrupt 1' 'passfd: interrupt 5' \
        'passfd: 5 interrupts, none without a byte' 'passfd: done'
    grep -q "pass intr ioapic:10 = descriptor 3: level until the guest's EOI ($2)" "$out" ||
        fail "$1: qvm did not log the line's mechanism ($2)"
    grep -q "pass intr ioapic:10: 5 host interrupts, 5 raised, 0 coalesced, 5 EOIs" "$out" ||
        fail "$1: qvm's counts at exit are not 5 interrupts, 5 raised, 5 EOIs"
}

unset QVM_IRQCHIP
run passfd "KVM irqfd with resample"

QVM_IRQCHIP=split
export QVM_IRQCHIP
run passfd-split "qvm's IOAPIC"
unset QVM_IRQCHIP
exec 3>&-
echo PASS
