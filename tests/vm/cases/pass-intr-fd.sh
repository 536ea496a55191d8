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
. cases/passfd-lib
passfd_setup ioapic:10

unset QVM_IRQCHIP
passfd_run passfd ioapic:10 "KVM irqfd with resample"

QVM_IRQCHIP=split
export QVM_IRQCHIP
passfd_run passfd-split ioapic:10 "qvm's IOAPIC"
unset QVM_IRQCHIP
exec 3>&-
echo PASS
