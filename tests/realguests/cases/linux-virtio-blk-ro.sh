#!/bin/sh
# A read-only virtio-blk (hostdev <PATH): the guest sees /dev/vda read-only
# (VIRTIO_BLK_F_RO), can mount and read it, and a raw write is refused; the
# image is unchanged. (That the device itself fails writes with an I/O
# error is shown by the freestanding guests, tests/vm/cases; Linux never
# sends one to a read-only disk.)
# timeout: 150
. cases/lib.sh
img=$TMPDIR/disk.img
cp "$GUESTS/virtio/ext4.img" "$img" || fail "no ext4 image (run prepare.sh)"
before=$(md5sum <"$img")
boot linux-virtio-blk-ro.qvmconf hostdev "<$img"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
virtio_modules
grep -q 'QVM-GUEST-INIT: vda ro=1' "$out" || fail "/dev/vda is not read-only in the guest"
grep -q 'QVM-GUEST-INIT: read: qvm-ext4-image-file' "$out" || fail "the guest did not read the image's file"
grep -q 'QVM-GUEST-INIT: raw write refused' "$out" || fail "a raw write to the read-only disk was accepted"
[ "$(md5sum <"$img")" = "$before" ] || fail "the read-only image changed"
echo PASS
