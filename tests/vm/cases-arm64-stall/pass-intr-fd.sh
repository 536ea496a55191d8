#!/bin/sh
# pass-intr-fd: a host interrupt passed with `pass intr gic:40=fd:3`
# (docs/passthrough.md) from a descriptor qvm inherits: a FIFO this script
# holds open read-write on descriptor 3 and feeds, one byte per interrupt,
# into KVM's vGIC as a resampled irqfd (level until the guest's EOI).
#   - the passfd guest (tests/guests/arm64/passfd.c) has SPI 40 level,
#     routed to it and enabled: no interrupt before a byte; 5 rounds: it
#     prints "waiting for interrupt K", the script writes one byte, the
#     interrupt arrives once and not again after the guest's EOI (its
#     ICC_EOIR1_EL1 write); then a round without a byte, and no interrupt;
#   - qvm's start line for the source ("KVM irqfd with resample") and its
#     counts at exit: 5 host interrupts, 5 raised, 0 coalesced, 5 EOIs;
#   - dryrun shows the source.
# timeout: 300
set -u
. cases/lib.sh
. cases/passfd-lib
passfd_setup gic:40
passfd_run passfd gic:40 "KVM irqfd with resample"
exec 3>&-
echo PASS
