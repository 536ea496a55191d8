#!/bin/sh
# split-irqchip: cases written for the default layout (where qvm uses KVM's
# in-kernel irqchip) again with qvm's own IOAPIC, 8259 pair and 8254 on
# KVM's split irqchip (QVM_IRQCHIP=split): the 8250's edge-triggered line
# with Linux's driver pattern, SMP bring-up with the ACPI and MP tables,
# the RTC, the power button's level-triggered SCI, virtio-blk over PCI.
# timeout: 600
set -u
QVM_IRQCHIP=split
export QVM_IRQCHIP
"$QVM" @"$CONFIGS/uartirq.qvmconf" dryrun 2>&1 |
    grep -q "split irqchip (QVM_IRQCHIP=split)" ||
    { echo "FAIL: dryrun does not say QVM_IRQCHIP=split is in force"; exit 1; }
for c in uart-irq smp rtc powerbutton virtio-blk-pci; do
    echo "== $c (split irqchip)"
    (. "cases/$c.sh") || {
        echo "FAIL: $c with QVM_IRQCHIP=split"
        exit 1
    }
done
echo PASS
