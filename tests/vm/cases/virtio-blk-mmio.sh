#!/bin/sh
# virtio-blk-mmio: the virtio_blk guest drives virtio-blk over virtio-mmio
# (version 2) at `loc 0xfeb00000 intr myioapic:5`, which the DSDT must
# describe (LNRO0005 with that address): the same requests as over PCI,
# with a split and then a packed ring; the writes are in the image after.
# timeout: 90
set -u
. cases/virtio-lib
img="$TMPDIR/disk.img"
mkimg "$img" 2048
cp "$img" "$TMPDIR/orig.img"
out="$TMPDIR/blk.out"
for run in "5 split" "9 packed"; do
    set -- $run
    cl="mmio=$MMIO wsec=$1"
    [ "$2" = packed ] && cl="$cl packed indirect"
    runqvm "$out" @"$CONFIGS/virtio-blk.qvmconf" cmdline "$cl" \
        vdev virtio-blk loc "$MMIO" intr "$MMIO_INTR" hostdev "$img"
    guest_ok "$out" virtio-blk
    has "$out" "virtio-blk: found device 2 on virtio-mmio at $MMIO"
    has "$out" "DSDT: LNRO0005 yes, registers at $MMIO yes"
    has "$out" "virtio-blk: $2 ring"
    has "$out" 'capacity 2048 sectors, blk_size 512, read-write'
    has "$out" "sector 0 'QVM-VIRTIO-BLK-0', sector 1 'QVM-VIRTIO-BLK-1', used len 1025"
    has "$out" "write sectors $1-$(($1 + 1)): status 0"
    has "$out" 'read back: matches yes'
    has "$out" 'flush: status 0'
    has "$out" 'read at the capacity: status 1'
    has "$out" 'after reset: read sector 0 ok'
    expect_write "$img" "$1"
done
exp="$TMPDIR/expected.img"
cp "$TMPDIR/orig.img" "$exp"
for w in 5 9; do
    wpattern "$w" >"$TMPDIR/w.bin"
    patch "$exp" "$w" "$TMPDIR/w.bin"
done
dd if=/dev/zero bs=512 count=1 2>/dev/null >"$TMPDIR/z.bin"
patch "$exp" 7 "$TMPDIR/z.bin"
sectors "$img" 8 1 >"$TMPDIR/d.bin"
patch "$exp" 8 "$TMPDIR/d.bin"
cmp "$exp" "$img" || fail "the image differs from what the guest wrote"
echo "PASS"
