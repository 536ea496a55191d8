#!/bin/sh
# virtio-blk over PCI (modern, MSI-X) with Debian's own modules (loaded from the initramfs):
# the ext4 image made on the host (prepare.sh) is mounted from /dev/vda,
# the guest reads a file, writes one, syncs, unmounts and powers off; then
# debugfs finds the new file in the image with the right content and e2fsck
# finds the file system clean.
# timeout: 150
. cases/lib.sh
img=$TMPDIR/disk.img
cp "$GUESTS/virtio/ext4.img" "$img" || fail "no ext4 image (run prepare.sh)"
boot linux-virtio-blk.qvmconf hostdev "$img"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
virtio_modules
grep -q 'QVM-GUEST-INIT: vda ro=0 ' "$out" || fail "no writable /dev/vda"
grep -q 'QVM-GUEST-INIT: vda at .*/pci0000:00/' "$out" || fail "/dev/vda is not on PCI"
vda_transport 1 PCI-MSI
grep -q 'QVM-GUEST-INIT: read: qvm-ext4-image-file' "$out" || fail "the guest did not read the image's file"
grep -q 'QVM-GUEST-INIT: wrote dir/guest.txt' "$out" || fail "the guest did not write its file"
grep -q 'QVM-GUEST-INIT: unmounted' "$out" || fail "the guest did not unmount"
image_has "$img" /dir/guest.txt written-by-the-guest
echo PASS
