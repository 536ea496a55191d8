#!/bin/sh
# vfio-edu: PCI pass-through with VFIO (docs/passthrough.md) in the IOMMU lab
# (tests/lab/README.md): QEMU's edu device, bound to vfio-pci in L1, is
# passed to the edu guest (tests/guests/edu.c) by its IDs
# (`pass loc pci:0x1234/0x11e8`):
#   - the guest finds 1234:11e8, reads the ID register, computes factorials
#     (polled, with INTx, with MSI), holds an INTx with the command
#     register's Interrupt Disable and gets it once cleared, moves 2 KiB by
#     DMA from its RAM to edu and back intact, gets INTx and MSI
#     interrupts; a DMA from and to an
#     address outside its RAM brings nothing, and L1's kernel logs the
#     IOMMU's (DMAR) fault; with KVM's in-kernel irqchip (INTx through an
#     irqfd with resample), then with the split one (QVM_IRQCHIP=split:
#     qvm's IOAPIC, INTx unmasked by qvm at the guest's EOI, its EOI hook);
#   - BAR0 mapped into the guest (a KVM memory slot on VFIO's mmap) with
#     both irqchips: of the guest's 1000 ID reads and other BAR accesses
#     fewer than 100 exit (qvm's count at exit), it follows the guest's
#     BAR move and memory decode (the trapped path, INTx unmasked at a BAR
#     access where there is no EOI hook: tests/unit/test_dev_vfio_pci.c);
#   - a second qvm while one holds the device: refused at start, "in use";
#     the holder SIGKILLed, the next qvm passes the guest's checks again;
#   - edu unbound from vfio-pci: refused at start with how to bind it.
# Skips (77) where there is no edu bound to vfio-pci (the host bed).
# lab: iommu
# timeout: 300
set -u
. cases/lib.sh
edu=$(find_pci 0x1234 0x11e8)
if [ -z "$edu" ] || [ "$(basename "$(readlink "/sys/bus/pci/devices/$edu/driver")")" != vfio-pci ]; then
    echo "SKIP: no edu device (1234:11e8) bound to vfio-pci here (the IOMMU lab has one)"
    exit 77
fi
conf=$CONFIGS/vfio-edu.qvmconf
faults() { dmesg | grep -c 'DMAR: .*fault' || :; }

check_edu() {
    guest_lines edu 'edu: found at device [0-9]* of bus 0' 'edu: ID 0x010000ed, liveness ok' \
        'edu: 1000 reads of the ID register' \
        'edu: BAR0 moved: the ID at the new address, all ones at the old one and with memory decode off' \
        'edu: factorial 10! = 3628800 (polled)' \
        'edu: INTx: IOAPIC line [0-9]*, factorial 5! = 120 interrupt delivered' \
        'edu: INTx: held while Interrupt Disable was set, delivered when cleared' \
        'edu: DMA: 2048 bytes to the device and back intact' \
        'edu: MSI: raised and factorial 6! = 720 interrupts delivered' \
        'edu: DMA from outside guest RAM: nothing came' \
        'edu: DMA to outside guest RAM: completed, the guest lives' 'edu: done'
}

# trapped: the guest's BAR accesses that exited to qvm (its log at exit).
trapped() {
    n=$(sed -n 's/.*vfio-pci: pass ..:..\..: \([0-9]*\) guest BAR accesses trapped$/\1/p' "$out")
    [ -n "$n" ] || fail "no count of trapped BAR accesses"
    echo "$n"
}

before=$(faults)
qvm_run edu @"$conf"
check_edu
grep -q 'vfio-pci: pass 00:..\.0 = host 0000:.* (1234:11e8), IOMMU group [0-9]*, INTx by KVM irqfd with resample$' "$out" ||
    fail "INTx is not a KVM irqfd with resample on the in-kernel irqchip"
# BAR0 in a KVM memory slot: the guest's 1000 ID reads, factorials, DMA
# set-up and interrupt acknowledgements do not exit.
grep -q 'vfio-pci: pass ..:..\..: BAR0 (0x100000 bytes) mapped into the guest$' "$out" ||
    fail "BAR0 is not mapped into the guest"
n=$(trapped)
echo "BAR accesses trapped with BAR0 mapped: $n"
[ "$n" -lt 100 ] || fail "$n BAR accesses exited with BAR0 mapped into the guest"
QVM_IRQCHIP=split
export QVM_IRQCHIP
qvm_run edu-split @"$conf"
unset QVM_IRQCHIP
check_edu
grep -q "INTx by qvm (unmasked at the guest's EOI)$" "$out" ||
    fail "INTx is not qvm's own, unmasked at the EOI, on the split irqchip"
# The EOI hook tells when to unmask: BAR0 stays in its memory slot.
grep -q 'vfio-pci: pass ..:..\..: BAR0 (0x100000 bytes) mapped into the guest$' "$out" ||
    fail "BAR0 is not mapped into the guest with the split irqchip"
n=$(trapped)
echo "BAR accesses trapped with the split irqchip: $n"
[ "$n" -lt 100 ] || fail "$n BAR accesses exited with BAR0 mapped (split irqchip)"
after=$(faults)
echo "IOMMU faults logged by L1 during the run: $((after - before))"
dmesg | grep 'DMAR: .*fault' | tail -n 4
[ "$after" -gt "$before" ] || fail "L1 logged no DMAR fault for the DMA outside guest RAM"

# A holder keeps the device (the spin guest never ends); a second qvm is
# refused; the holder is SIGKILLed and the device serves the next qvm.
sed 's|guests/edu.elf|guests/spin.elf|' "$conf" >"$TMPDIR/hold.qvmconf"
qvm_start holder @"$TMPDIR/hold.qvmconf"
holder=$pid
wait_for 'vfio-pci: pass .* = host'
qvm_run second @"$conf"
[ "$rc" != 0 ] || fail "a second qvm started with the device in use"
grep -q 'in use' "$out" || fail "no 'in use' message"
kill -9 "$holder"
wait "$holder" 2>/dev/null
qvm_run after-kill @"$conf"
check_edu

# Not bound to vfio-pci: refused, with how to bind it.
echo "$edu" >/sys/bus/pci/drivers/vfio-pci/unbind || fail "cannot unbind $edu"
qvm_run unbound @"$conf"
echo "$edu" >/sys/bus/pci/drivers/vfio-pci/bind || fail "cannot bind $edu again"
[ "$rc" != 0 ] || fail "qvm started with edu bound to no driver"
grep -q "host PCI function $edu is bound to no driver, not to vfio-pci: bind it with: modprobe vfio-pci;" "$out" ||
    fail "no message saying how to bind the device"
echo PASS
