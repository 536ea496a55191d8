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
fifo=$TMPDIR/pass-intr-fd.fifo
mkfifo "$fifo" || fail "mkfifo"
# Read-write: neither this shell nor qvm waits for the other end, and qvm
# never reads an end of file.
exec 3<>"$fifo"
conf=$CONFIGS/pass-intr-fd.qvmconf

qvm_run dryrun @"$conf" dryrun
[ "$rc" = 0 ] || fail "dryrun exited $rc"
grep -q "intr gic:40=fd:3" "$out" || fail "dryrun does not show the host source"
grep -q "host descriptor 3 (inherited), level until the guest's EOI" "$out" ||
    fail "dryrun does not show the descriptor"

qvm_start passfd @"$conf"
wait_for '^passfd: no interrupt before a byte'
echo "the guest runs; no interrupt before a byte"
for k in 1 2 3 4 5; do
    wait_for "^passfd: waiting for interrupt $k"
    printf x >&3 || fail "cannot write to the FIFO"
    echo "byte $k written"
done
wait_for '^passfd: waiting for no interrupt'
qvm_wait 0
exec 3>&-
cat "$out"
guest_lines passfd 'passfd: no interrupt before a byte' \
    'passfd: interrupt 1' 'passfd: interrupt 5' \
    'passfd: 5 interrupts, none without a byte' 'passfd: done'
grep -q "pass intr gic:40 = descriptor 3: level until the guest's EOI (KVM irqfd with resample)" "$out" ||
    fail "qvm did not log the line's mechanism (KVM irqfd with resample)"
grep -q "pass intr gic:40: 5 host interrupts, 5 raised, 0 coalesced, 5 EOIs" "$out" ||
    fail "qvm's counts at exit are not 5 interrupts, 5 raised, 5 EOIs"
echo PASS
