#!/bin/sh
# virtio-rng: the virtio_rng guest asks virtio-entropy for 64 bytes in one
# buffer, 64 in a chain of two and 4096: each answer non-empty, within the
# buffers, not one repeated byte, and the two 64-byte answers differ. Over
# PCI (split ring, then packed), then over virtio-mmio with `delayed`.
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
runqvm "$out" @"$CONFIGS/virtio-rng.qvmconf" cmdline "packed"
check packed
runqvm "$out" @"$CONFIGS/virtio-rng.qvmconf" cmdline "mmio=$MMIO" \
    vdev virtio-entropy loc "$MMIO" intr "$MMIO_INTR" delayed 5
check split
has "$out" "virtio-rng: found device 4 on virtio-mmio at $MMIO"
echo "PASS"
