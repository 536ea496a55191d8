#!/bin/sh
# vfio-virtio-rng: MSI-X of a passed-through PCI function (docs/passthrough.md)
# in the IOMMU lab (tests/lab/README.md): QEMU's modern virtio-rng-pci
# (1af4:1044; iommu_platform: its DMA goes through L1's emulated IOMMU),
# bound to vfio-pci in L1, is passed to the virtio_rng guest
# (tests/guests/virtio_rng.c, the driver the virtio cases run against
# qvm's own model: the guest cannot tell) by its IDs. The guest finds the
# device through its vendor-specific capabilities, asks for entropy (the
# device reads and writes the rings and buffers in guest RAM by DMA), gets
# a used-buffer interrupt by INTx, then by MSI-X vector 0 (qvm's MSI-X
# capability, table and PBA on top of VFIO's MSI-X eventfds): with KVM's
# irqfds, VFIO signals the vector's irqfd straight (qvm relays none);
# without (QVM_KVM_FAST=ioeventfd), qvm's I/O thread relays each.
# Skips (77) where there is no such device bound to vfio-pci (the host bed).
# lab: iommu
# timeout: 300
set -u
. cases/virtio-lib
dev=$(find_pci 0x1af4 0x1044)
if [ -z "$dev" ] || [ "$(basename "$(readlink "/sys/bus/pci/devices/$dev/driver")")" != vfio-pci ]; then
    echo "SKIP: no virtio-rng-pci (1af4:1044) bound to vfio-pci here (the IOMMU lab has one)"
    exit 77
fi
out="$TMPDIR/rng.out"
check() {
    hasnt "$out" 'forbidden system call'
    guest_ok "$out" virtio-rng
    grep -q 'vfio-pci: pass ..:..\..: MSI-X: [0-9]* vectors, table and PBA in BAR[0-5]$' "$out" ||
        fail "MSI-X is not passed"
    has "$out" 'vendor-specific capabilities (read-only)'
    has "$out" 'virtio-rng: found device 4 on PCI 00:'
    has "$out" 'virtio-rng: 64-byte buffer: got '
    has "$out" 'virtio-rng: two 32-byte buffers: got '
    has "$out" 'virtio-rng: the two answers differ'
    has "$out" 'virtio-rng: 4096-byte buffer: got '
    grep -q '^virtio-rng: INTx: IOAPIC line [0-9]*, delivered, ISR 0x00000001$' "$out" ||
        fail "no INTx interrupt"
    has "$out" 'virtio-rng: with MSI-X: got '
    has "$out" 'virtio-rng: MSI-X: vector 0 delivered'
}
relayed() {
    sed -n 's/.*vfio-pci: pass ..:..\..: \([0-9]*\) MSI-X interrupts relayed by qvm$/\1/p' "$out"
}
# With KVM's irqfds: VFIO signals the unmasked vector's irqfd, nothing
# passes through qvm.
runqvm "$out" @"$CONFIGS/vfio-virtio-rng.qvmconf" cmdline "split"
check
n=$(relayed)
[ "$n" = 0 ] || fail "MSI-X interrupts relayed by qvm with irqfds: '$n' (expected 0)"
# Without irqfds (QVM_KVM_FAST=ioeventfd): qvm's I/O thread relays each
# to KVM_SIGNAL_MSI; INTx is qvm's own too.
QVM_KVM_FAST=ioeventfd
export QVM_KVM_FAST
runqvm "$out" @"$CONFIGS/vfio-virtio-rng.qvmconf" cmdline "split"
unset QVM_KVM_FAST
check
n=$(relayed)
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "no MSI-X interrupt relayed by qvm without irqfds: '$n'"
echo "PASS"
