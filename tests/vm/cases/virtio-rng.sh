#!/bin/sh
# virtio-rng: the virtio_rng guest asks virtio-entropy for 64 bytes in one
# buffer, 64 in a chain of two and 4096: each answer non-empty, within the
# buffers, not one repeated byte, and the two 64-byte answers differ. Then
# interrupts for a used buffer (the guest runs with them disabled and looks
# at the local APIC's IRR): INTx through the IOAPIC with the ISR bit, and
# MSI-X. Over PCI (split ring, then packed), then over virtio-mmio (its
# `intr` line) with `delayed`.
set -u
. cases/virtio-lib
out="$TMPDIR/rng.out"
check() {
    guest_ok "$out" virtio-rng
    has "$out" "virtio-rng: $1 ring"
    has "$out" 'virtio-rng: 64-byte buffer: got '
    has "$out" 'virtio-rng: two 32-byte buffers: got '
    has "$out" 'virtio-rng: the two answers differ'
    has "$out" 'virtio-rng: 4096-byte buffer: got '
}
runqvm "$out" @"$CONFIGS/virtio-rng.qvmconf" cmdline "split"
check split
has "$out" 'virtio-rng: found device 4 on PCI 00:'
grep -q '^virtio-rng: INTx: IOAPIC line [0-9]*, delivered, ISR 0x00000001$' "$out" ||
    fail "no INTx interrupt"
has "$out" 'virtio-rng: MSI-X: vector 0 delivered'
runqvm "$out" @"$CONFIGS/virtio-rng.qvmconf" cmdline "packed"
check packed
has "$out" 'virtio-rng: MSI-X: vector 0 delivered'
runqvm "$out" @"$CONFIGS/virtio-rng.qvmconf" cmdline "mmio=$MMIO irq=${MMIO_INTR#*:}" \
    vdev virtio-entropy loc "$MMIO" intr "$MMIO_INTR" delayed 5
check split
has "$out" "virtio-rng: found device 4 on virtio-mmio at $MMIO"
has "$out" "virtio-rng: INTx: IOAPIC line ${MMIO_INTR#*:}, delivered, ISR 0x00000001"
echo "PASS"
