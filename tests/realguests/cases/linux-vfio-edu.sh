#!/bin/sh
# Debian's Linux drives QEMU's edu device that qvm passes through with VFIO
# (`pass loc pci:0x1234/0x11e8`, docs/passthrough.md) in the IOMMU lab
# (tests/lab/README.md): /init runs edutest (tests/realguests/edutest.c),
# which finds 1234:11e8 in sysfs, binds it to uio_pci_generic, reads the ID
# register, computes factorials, gets INTx through uio (read, irqcontrol:
# uio_pci_generic's handler needs the status register's Interrupt Status
# bit), moves 2 KiB by DMA from guest RAM to edu and back intact (pages
# found in /proc/self/pagemap), then enables MSI in edu's capability (to
# Linux's X86_PLATFORM_IPI_VECTOR: Debian's kernel has no no-IOMMU VFIO)
# and sees Linux's handler run for each (its tracepoint); powers off: 0.
# Then a qvm whose guest holds the device (MSI on, a factorial's interrupt
# on its way) is SIGKILLed, and the next qvm passes the same checks.
# Skips (77) where there is no edu bound to vfio-pci.
# lab: iommu
# timeout: 720
. cases/lib.sh
vfio_device 0x1234 0x11e8 "edu device"
check() {
    [ "$rc" = 0 ] || fail "qvm exited $rc"
    grep -q 'forbidden system call' "$out" && fail "seccomp: $(grep 'forbidden' "$out")"
    grep -q 'edu: FAIL' "$out" && fail "the guest failed: $(grep 'edu: FAIL' "$out")"
    markers 1 200000
    grep -q 'vfio-pci: pass 00:..\.0 = host 0000:.* (1234:11e8), IOMMU group [0-9]*, INTx by KVM irqfd with resample$' "$out" ||
        fail "qvm did not pass edu with INTx by KVM irqfd with resample"
    for l in 'edu: found 1234:11e8 at 0000:00:..\.0' \
        'edu: bound to uio_pci_generic (/dev/uio0), BAR0 mapped' \
        'edu: ID 0x010000ed, liveness ok' \
        'edu: factorial 10! = 3628800 (polled)' \
        'edu: INTx: factorial 5! = 120 and a raised interrupt delivered through uio' \
        'edu: DMA: 2048 bytes to the device and back intact' \
        'edu: MSI capability at 0x.. (64-bit) enabled: address 0xfee00000, vector 0xf7' \
        'edu: MSI: raised and factorial 6! = 720 interrupts delivered' \
        'edu: done' 'QVM-GUEST-INIT: edutest exit status 0' \
        'QVM-GUEST-INIT: done, powering off'; do
        grep -q "^$l" "$out" || fail "no line '$l'"
    done
}
boot linux-vfio-edu.qvmconf
check
echo "first run: the checks pass"

# The guest holds the device (MSI on, a factorial's interrupt coming);
# SIGKILL; the next qvm gets the device and passes the same checks.
sed 's/qvmtest=edu/qvmtest=eduhold/' "$CONFIGS/linux-vfio-edu.qvmconf" >"$TMPDIR/linux-vfio-edu-hold.qvmconf"
cfgs=$CONFIGS
CONFIGS=$TMPDIR
start linux-vfio-edu-hold.qvmconf
CONFIGS=$cfgs
wait_for 'edu: holding' 240 || { kill -9 "$pid"; fail "the holding guest never held edu"; }
kill -9 "$pid"
finish
[ "$rc" = 137 ] || fail "the holder exited $rc, not by SIGKILL"
echo "holder SIGKILLed while it held edu"
boot linux-vfio-edu.qvmconf
check
echo PASS
