#!/bin/sh
# virtio-bad: the virtio_bad guest feeds a virtio-blk device malformed
# chains and rings (loops, indexes out of range, buffers outside RAM, on
# the device's own registers or across the end of RAM, zero and huge
# lengths, a readable buffer after a writable one, bad indirect tables,
# rings outside RAM or misaligned, garbage in every register). qvm must
# neither crash nor hang: each malformed chain is failed or puts the device
# into NEEDS_RESET, each bad ring gives NEEDS_RESET, the device works again
# after a reset every time, and qvm exits 0 when the guest powers off.
# Over PCI, then over virtio-mmio; then entropy and console chains in the
# wrong direction (PCI): the device never writes into a readable buffer.
# timeout: 300
set -u
. cases/virtio-lib
img="$TMPDIR/disk.img"
mkimg "$img" 2048
cp "$img" "$TMPDIR/orig.img"
out="$TMPDIR/bad.out"
printf 'input for the bad guest\n' >"$TMPDIR/in.txt"
for t in pci mmio; do
    if [ $t = pci ]; then
        # logger warn none: qvm's warning for each malformed class would
        # land in the middle of the guest's line (both reach $out, the
        # guest's byte by byte); the guest checks the device's reactions.
        runqvm "$out" @"$CONFIGS/virtio-bad.qvmconf" logger warn none cmdline "x" \
            vdev virtio-blk hostdev "$img" \
            vdev virtio-entropy \
            vdev virtio-console hostdev "<$TMPDIR/in.txt" \
            hostdev ">$TMPDIR/con.txt"
    else
        runqvm "$out" @"$CONFIGS/virtio-bad.qvmconf" logger warn none cmdline "mmio=$MMIO" \
            vdev virtio-blk loc "$MMIO" intr "$MMIO_INTR" hostdev "$img" \
            vdev virtio-entropy \
            vdev virtio-console hostdev "<$TMPDIR/in.txt" \
            hostdev ">$TMPDIR/con.txt"
    fi
    guest_ok "$out" virtio-bad
    hasnt "$out" '(wrong)'
    hasnt "$out" 'NOT recovered'
    for c in 'split: chain loop' 'split: next index out of range' \
        'split: buffer outside RAM' 'split: buffer on the device' \
        'split: buffer across the end of RAM' 'split: buffer above 4 GiB' \
        'split: zero-length buffer' 'split: 2 GiB buffer' \
        'split: readable after writable' \
        'split: available index too far ahead' \
        'split: indirect table length 20' 'split: nested indirect table' \
        'split: loop inside an indirect table' \
        'split: indirect table outside RAM' \
        'ring: descriptor table outside RAM' \
        'ring: misaligned descriptor table' \
        'ring: descriptor table across the end of RAM' \
        'packed: endless chain' 'packed: zero-length buffer' \
        'packed: buffer outside RAM'; do
        grep -Eq "^virtio-bad: $c[^:]*: (needs-reset|failed, status [12]), recovered\$" "$out" ||
            fail "$t: class '$c' was not failed or NEEDS_RESET"
    done
    for c in 'rng: a readable buffer only' 'rng: zero-length buffer' \
        'console: a writable buffer to transmit' \
        'console: a readable buffer to receive into'; do
        grep -Eq "^virtio-bad: $c: (needs-reset|failed, length 0), recovered\$" "$out" ||
            fail "$t: class '$c' was not failed or NEEDS_RESET"
    done
    hasnt "$out" 'wrote into a readable buffer'
    has "$out" 'registers: a pattern written everywhere'
    # Nothing was ever written to the disk: every request read sector 0.
    cmp "$TMPDIR/orig.img" "$img" || fail "$t: the image changed"
done
echo "PASS"
