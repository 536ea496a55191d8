#!/bin/sh
# virtio-blk-ro: `hostdev <IMAGE` is a read-only disk: the device offers
# VIRTIO_BLK_F_RO, reads work, a write and a write-zeroes fail with
# VIRTIO_BLK_S_IOERR, and the image is byte for byte unchanged (over PCI,
# then over virtio-mmio).
# timeout: 90
set -u
. cases/virtio-lib
img="$TMPDIR/disk.img"
mkimg "$img" 2048
cp "$img" "$TMPDIR/orig.img"
out="$TMPDIR/ro.out"
for t in pci mmio; do
    if [ $t = pci ]; then
        runqvm "$out" @"$CONFIGS/virtio-blk.qvmconf" cmdline "wsec=5" \
            vdev virtio-blk hostdev "<$img"
    else
        runqvm "$out" @"$CONFIGS/virtio-blk.qvmconf" \
            cmdline "mmio=$MMIO wsec=5" \
            vdev virtio-blk loc "$MMIO" intr "$MMIO_INTR" hostdev "<$img"
    fi
    guest_ok "$out" virtio-blk
    has "$out" 'capacity 2048 sectors, blk_size 512, read-only'
    has "$out" "sector 0 'QVM-VIRTIO-BLK-0'"
    has "$out" 'write sectors 5-6: status 1'
    has "$out" 'read back: unchanged yes'
    has "$out" 'write at the capacity: status 1'
    if grep -qF 'write-zeroes: status' "$out"; then
        has "$out" 'write-zeroes: status 1'
    fi
    cmp "$TMPDIR/orig.img" "$img" || fail "$t: the read-only image changed"
done
echo "PASS"
