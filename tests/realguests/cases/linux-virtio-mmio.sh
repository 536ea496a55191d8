#!/bin/sh
# virtio-blk and virtio-entropy over virtio-mmio (loc + intr), found by
# Debian's kernel through the ACPI DSDT (LNRO0005): the same ext4 round
# trip as linux-virtio-blk, and /dev/hwrng delivers bytes.
# timeout: 150
. cases/lib.sh
img=$TMPDIR/disk.img
cp "$GUESTS/virtio/ext4.img" "$img" || fail "no ext4 image (run prepare.sh)"
boot linux-virtio-mmio.qvmconf hostdev "$img"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
virtio_modules
grep -q 'QVM-GUEST-INIT: vda at .*LNRO0005' "$out" || fail "/dev/vda is not a virtio-mmio (LNRO0005) device"
vda_transport 1 IO-APIC
grep -q 'QVM-GUEST-INIT: read: qvm-ext4-image-file' "$out" || fail "the guest did not read the image's file"
grep -q 'QVM-GUEST-INIT: unmounted' "$out" || fail "the guest did not unmount"
image_has "$img" /dir/guest.txt written-by-the-guest
hwrng_ok
echo PASS
