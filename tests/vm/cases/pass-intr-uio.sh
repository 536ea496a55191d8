#!/bin/sh
# pass-intr-uio: a host interrupt passed with `pass intr ...=uio:`
# (docs/passthrough.md) in the IOMMU lab (tests/lab/README.md), whose L1
# has QEMU's edu device and the uio and uio_pci_generic modules:
#   - edu is unbound from vfio-pci and bound to uio_pci_generic (its
#     driver_override); /dev/uioN appears;
#   - the passintr guest (tests/guests/passintr.c) gets the first page of
#     edu's BAR0 with `pass loc mem:` and edu's interrupt with `pass intr
#     ioapic:5=uio:/dev/uioN`: no interrupt before a raise; 20 raises
#     (edu 0x60), each arriving once with its own status; a factorial-done
#     interrupt (6! = 720); none after the last;
#   - once with KVM's in-kernel irqchip (a KVM irqfd with resample), once
#     with the split irqchip (QVM_IRQCHIP=split: qvm's IOAPIC model's EOI
#     hook); qvm's counts at exit: 21 host interrupts, 21 EOIs;
#   - dryrun shows the UIO device, its driver and PCI address.
# edu goes back to vfio-pci at the end (the other IOMMU cases need it).
# Skips (77) where there is no edu device or no uio_pci_generic (the host
# bed).
# lab: iommu
# timeout: 300
set -u
. cases/lib.sh
edu=$(find_pci 0x1234 0x11e8)
ug=/sys/bus/pci/drivers/uio_pci_generic
if [ -z "$edu" ] || [ ! -e /dev/mem ] || [ ! -d "$ug" ]; then
    echo "SKIP: no edu device (1234:11e8), /dev/mem or uio_pci_generic here (the IOMMU lab has them)"
    exit 77
fi
dev=/sys/bus/pci/devices/$edu
drv=$(basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null)
ovr=$(cat "$dev/driver_override" 2>/dev/null)
rebind() {
    [ -e "$dev/driver" ] && echo "$edu" >"$dev/driver/unbind"
    if [ "$ovr" = "(null)" ] || [ -z "$ovr" ]; then
        echo >"$dev/driver_override"
    else
        echo "$ovr" >"$dev/driver_override"
    fi
    [ "$drv" = vfio-pci ] || return 0
    echo "$edu" >/sys/bus/pci/drivers/vfio-pci/bind ||
        echo "WARN: cannot bind $edu to vfio-pci again"
}
trap rebind EXIT
if [ -n "$drv" ]; then
    echo "$edu" >"$dev/driver/unbind" || fail "cannot unbind $edu from $drv"
fi
echo uio_pci_generic >"$dev/driver_override" || fail "cannot set driver_override"
echo "$edu" >"$ug/bind" || fail "cannot bind $edu to uio_pci_generic"
uio=$(ls "$dev/uio" 2>/dev/null | head -n 1)
[ -n "$uio" ] || fail "$edu bound to uio_pci_generic has no uio device"
n=0
while [ ! -c "/dev/$uio" ] && [ $n -lt 50 ]; do
    n=$((n + 1))
    sleep 0.1
done
[ -c "/dev/$uio" ] || fail "no /dev/$uio"
read -r bar0 _ <"$dev/resource"
bar0=$(printf '0x%x' "$bar0")
echo "edu $edu: BAR0 at $bar0, /dev/$uio (was bound to ${drv:-no driver})"
grep -i "${bar0#0x}" /proc/iomem || :
conf=$TMPDIR/pass-intr-uio.qvmconf
sed "s|@BAR0@|$bar0|g; s|@UIO@|/dev/$uio|g" "$CONFIGS/pass-intr-uio.qvmconf" >"$conf" ||
    fail "no config"

qvm_run dryrun @"$conf" dryrun
[ "$rc" = 0 ] || fail "dryrun exited $rc"
grep -q "intr ioapic:5=uio:/dev/$uio" "$out" || fail "dryrun does not show the host source"
grep -q "host $uio (uio_pci_generic, PCI $edu), level until the guest's EOI" "$out" ||
    fail "dryrun does not show the UIO device's driver and address"

check_run() { # WHAT: the guest's lines, qvm's exit status and counts
    guest_lines passintr 'passintr: ID 0x010000ed, no interrupt before a raise' \
        'passintr: 20 raised, 20 handled' \
        'passintr: factorial-done interrupt, 6! = 720' \
        'passintr: 21 interrupts in all, none without a raise' 'passintr: done'
    grep -q "pass intr ioapic:5 = /dev/$uio: level until the guest's EOI ($2), re-enabled by" "$out" ||
        fail "$1: qvm did not log the line's mechanism ($2)"
    grep -q "pass intr ioapic:5: 21 host interrupts, 21 raised, 0 coalesced, 21 EOIs" "$out" ||
        fail "$1: qvm's counts at exit are not 21 interrupts and 21 EOIs"
}

unset QVM_IRQCHIP
qvm_run passintr @"$conf"
check_run "KVM's irqchip" "KVM irqfd with resample"

QVM_IRQCHIP=split
export QVM_IRQCHIP
qvm_run passintr-split @"$conf"
unset QVM_IRQCHIP
check_run "split irqchip" "qvm's IOAPIC"
echo PASS
