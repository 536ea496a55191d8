#!/bin/sh
# virtio-blk-pci: the virtio_blk guest drives a modern virtio-blk PCI
# function (its registers in BAR4, found through the vendor capabilities)
# backed by an image made here: reads of known sectors, a two-sector write,
# FLUSH, GET_ID, WRITE_ZEROES, DISCARD, I/O errors beyond the end, an
# unknown request type, a reset. Four runs (split/packed ring, direct/
# indirect chains), then `threads 4 dio enable` (a read and a flush on the
# last of its 4 queues too), then a `legacy` (transitional) function driven
# through its legacy I/O BAR0 and through its modern interface; each run
# writes other sectors, and the image on the host must then be exactly the
# original plus those writes and the zeroed sector. Last, "hold": qvm is
# killed with SIGKILL once the guest has its FLUSH acknowledged, and the
# write is in the image.
# timeout: 150
set -u
. cases/virtio-lib
img="$TMPDIR/disk.img"
mkimg "$img" 2048
cp "$img" "$TMPDIR/orig.img"
out="$TMPDIR/blk.out"
# Runs: the first sector written, the ring and chain kinds the guest must
# report, its command line, the vdev's options.
for run in "5 split direct:wsec=5:" \
    "9 split indirect:wsec=9 indirect:" \
    "13 packed direct:wsec=13 packed:" \
    "17 packed indirect:wsec=17 packed indirect:" \
    "21 split direct:wsec=21:threads 4 dio enable" \
    "25 split indirect:wsec=25 legacy indirect:legacy" \
    "29 split direct:wsec=29:legacy"; do
    what=${run%%:*}
    rest=${run#*:}
    cl=${rest%%:*}
    extra=${rest#*:}
    set -- $what
    w=$1
    # shellcheck disable=SC2086
    runqvm "$out" @"$CONFIGS/virtio-blk.qvmconf" cmdline "$cl" \
        vdev virtio-blk $extra hostdev "$img"
    guest_ok "$out" virtio-blk
    case $cl in
    *legacy*) has "$out" 'virtio-blk: found device 2 on PCI (legacy interface) at io' ;;
    *) has "$out" 'virtio-blk: found device 2 on PCI 00:' ;;
    esac
    has "$out" "virtio-blk: $2 ring, $3 descriptors"
    has "$out" 'capacity 2048 sectors, blk_size 512, read-write'
    has "$out" "sector 0 'QVM-VIRTIO-BLK-0', sector 1 'QVM-VIRTIO-BLK-1', used len 1025"
    has "$out" "write sectors $w-$((w + 1)): status 0"
    has "$out" 'read back: matches yes'
    has "$out" 'flush: status 0'
    has "$out" 'write-zeroes: status 0'
    has "$out" 'discard: status 0'
    has "$out" 'read at the capacity: status 1'
    has "$out" 'unknown request type: status 2'
    has "$out" 'after reset: read sector 0 ok'
    case $extra in
    threads*) has "$out" 'queue 3 of 4: read sector 1 ok' ;;
    esac
    expect_write "$img" "$w"
done
# The whole image: the original, the five writes, sector 7 zeroed; the
# discarded sector 8 may read as anything.
exp="$TMPDIR/expected.img"
cp "$TMPDIR/orig.img" "$exp"
for w in 5 9 13 17 21 25 29; do
    wpattern "$w" >"$TMPDIR/w.bin"
    patch "$exp" "$w" "$TMPDIR/w.bin"
done
dd if=/dev/zero bs=512 count=1 2>/dev/null >"$TMPDIR/z.bin"
patch "$exp" 7 "$TMPDIR/z.bin"
sectors "$img" 8 1 >"$TMPDIR/d.bin"
patch "$exp" 8 "$TMPDIR/d.bin"
cmp "$exp" "$img" || fail "the image differs from what the guest wrote"
[ "$(wc -c <"$img" | tr -d ' ')" -eq $((2048 * 512)) ] ||
    fail "the image changed size"

# An acknowledged write + FLUSH is in the image when qvm is SIGKILLed.
qvm_start hold @"$CONFIGS/virtio-blk.qvmconf" cmdline "wsec=40 hold" \
    vdev virtio-blk hostdev "$img"
wait_for 'holding after the flush'
kill -9 "$pid"
qvm_wait 137
tr -d '\r' <"$out"
expect_write "$img" 40
echo "PASS"
