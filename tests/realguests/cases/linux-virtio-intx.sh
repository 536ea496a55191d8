#!/bin/sh
# virtio-blk on PCI INTx (the guest has pci=nomsi): the ACPI _PRT routes
# the function's pin to an IOAPIC line; the ext4 round trip.
# timeout: 150
. cases/lib.sh
img=$TMPDIR/disk.img
cp "$GUESTS/virtio/ext4.img" "$img" || fail "no ext4 image (run prepare.sh)"
boot linux-virtio-intx.qvmconf hostdev "$img"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
virtio_modules
grep -q 'QVM-GUEST-INIT: vda at .*/pci0000:00/' "$out" || fail "/dev/vda is not on PCI"
vda_transport 1 IO-APIC
grep -q 'QVM-GUEST-INIT: read: qvm-ext4-image-file' "$out" || fail "the guest did not read the image's file"
grep -q 'QVM-GUEST-INIT: unmounted' "$out" || fail "the guest did not unmount"
image_has "$img" /dir/guest.txt written-by-the-guest
echo PASS
