#!/bin/sh
# virtio-blk with the legacy (virtio 0.9.5) PCI interface (`legacy`), as
# Debian's virtio_pci drives it with force_legacy=1: the ext4 round trip
# without VIRTIO_F_VERSION_1.
# timeout: 150
. cases/lib.sh
img=$TMPDIR/disk.img
cp "$GUESTS/virtio/ext4.img" "$img" || fail "no ext4 image (run prepare.sh)"
boot linux-virtio-legacy.qvmconf hostdev "$img"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
virtio_modules
grep -q 'QVM-GUEST-INIT: vda at .*/pci0000:00/' "$out" || fail "/dev/vda is not on PCI"
vda_transport 0 '\(PCI-MSI\|IO-APIC\)'
grep -q 'QVM-GUEST-INIT: read: qvm-ext4-image-file' "$out" || fail "the guest did not read the image's file"
grep -q 'QVM-GUEST-INIT: unmounted' "$out" || fail "the guest did not unmount"
image_has "$img" /dir/guest.txt written-by-the-guest
echo PASS
