#!/bin/sh
# linux-guests.sh DEST: the Linux guest of the lab benchmarks (issue 7
# items 5 and 6, bench/README.md), built outside the repository from the
# real-guest material (tests/realguests/prepare.sh, run first when its
# output is missing) and never committed:
#   vmlinuz                Debian's generic kernel (the lab's own)
#   initramfs-boot.cpio.gz busybox and bench/linux-init.sh as /init
#   initramfs-blk.cpio.gz  the same plus Debian's virtio modules
#                          (lib/modules/virtio/, from prepare.sh)
#   l1/brd.ko              the RAM disk module of the same kernel, for L1:
#                          the disk both VMMs use, a block device so that
#                          O_DIRECT works (L1's root is a ramfs)
# The real-guest material is $QVM_REALGUESTS, by default
# ~/.cache/qvm-realguests (tests/realguests/README.md); brd.ko comes from
# the kernel package, fetched once with apt-get download into
# ~/.cache/qvm-bench.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=$1
RG=${QVM_REALGUESTS:-${XDG_CACHE_HOME:-$HOME/.cache}/qvm-realguests}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/qvm-bench
if [ ! -f "$RG/vmlinuz" ] || [ ! -f "$RG/initramfs-virtio.cpio.gz" ]; then
    "$HERE/../tests/realguests/prepare.sh" "$RG" >&2
fi
C=$("$HERE/../tests/lab/fetch.sh")
K=$(cat "$C/ok")
mkdir -p "$DEST/l1" "$CACHE"
# brd.ko of the lab's kernel package (the guest's and L1's kernel).
if [ "$(cat "$CACHE/brd.ok" 2>/dev/null)" != "$K" ]; then
    T=$(mktemp -d)
    (cd "$T" && apt-get -qq -o APT::Sandbox::User=root download "$K") ||
        { apt-get update -qq && (cd "$T" &&
            apt-get -qq -o APT::Sandbox::User=root download "$K"); } ||
        { echo "linux-guests: cannot download $K" >&2; rm -rf "$T"; exit 1; }
    dpkg -x "$T"/*.deb "$T/x"
    f=$(find "$T/x/lib/modules" -name brd.ko | head -n 1)
    [ -n "$f" ] || { echo "linux-guests: no brd.ko in $K" >&2; rm -rf "$T"; exit 1; }
    cp "$f" "$CACHE/brd.ko"
    echo "$K" >"$CACHE/brd.ok"
    rm -rf "$T"
fi
cp "$CACHE/brd.ko" "$DEST/l1/brd.ko"
cp "$RG/vmlinuz" "$DEST/vmlinuz"
# The virtio initramfs, unpacked; its /init replaced by ours.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/r"
(cd "$T/r" && gzip -dc "$RG/initramfs-virtio.cpio.gz" | cpio -id --quiet)
[ -f "$T/r/lib/modules/virtio/order" ] ||
    { echo "linux-guests: $RG/initramfs-virtio.cpio.gz has no virtio modules" >&2; exit 1; }
cp "$HERE/linux-init.sh" "$T/r/init"
chmod +x "$T/r/init"
(cd "$T/r" && find . | cpio -o -H newc --quiet | gzip -1n) >"$DEST/initramfs-blk.cpio.gz"
rm -rf "$T/r/lib/modules"
(cd "$T/r" && find . | cpio -o -H newc --quiet | gzip -1n) >"$DEST/initramfs-boot.cpio.gz"
ls -l "$DEST" >&2
