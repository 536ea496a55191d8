#!/bin/sh
# virtio-pci-barmove: the virtio_blk guest moves BAR4 (the modern virtio
# registers) to 0xd0000000 the way an OS reassigns a BAR (memory decoding
# off, new address, decoding on) and then drives the device there: its
# very first access at the new address must reach the device, as a
# configuration write completes before the next access on hardware, and
# qvm must not see any access to an unmapped address. Notifications
# (ioeventfds) and everything else work at the new address; the write is
# in the image. Three runs, since a late remap is a race.
# timeout: 90
set -u
. cases/virtio-lib
img="$TMPDIR/disk.img"
mkimg "$img" 2048
out="$TMPDIR/move.out"
for w in 5 9 13; do
    runqvm "$out" @"$CONFIGS/virtio-blk.qvmconf" \
        cmdline "wsec=$w movebar=0xd0000000" vdev virtio-blk hostdev "$img"
    guest_ok "$out" virtio-blk
    grep -q '^virtio-blk: BAR4 moved from 0x[0-9a-f]* to 0xd0000000$' "$out" ||
        fail "BAR4 did not move"
    has "$out" 'virtio-blk: after the move: num_queues 0x00000001'
    has "$out" 'common cfg at 0xd0000000'
    hasnt "$out" 'unmapped address'
    has "$out" "write sectors $w-$((w + 1)): status 0"
    has "$out" 'after reset: read sector 0 ok'
    expect_write "$img" "$w"
done
echo "PASS"
