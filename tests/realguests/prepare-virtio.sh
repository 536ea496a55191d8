#!/bin/sh
# prepare-virtio.sh CACHE DEST: the material of the virtio real-guest cases
# (issue 6) in DEST/virtio, kept while the lab's kernel and this recipe stay
# the same: Debian's own virtio, ext4 and net modules for the lab's very
# kernel (CACHE is tests/lab/fetch.sh's directory; its "ok" names the
# package) with their dependencies, in load order (modules/order), for
# prepare.sh to put in initramfs-virtio.cpio.gz; an ext4 image made here
# (mke2fs -d) holding dir/hello.txt; debugfs and e2fsck to check the image
# in L1; tun.ko for L1's tap. Needs e2fsprogs and python3.
set -eu
C=$1 DEST=$2
K=$(cat "$C/ok")
V=$DEST/virtio
S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
# The stamp names the kernel and this recipe's version.
if [ "$(cat "$V/ok" 2>/dev/null)" != "$K 6" ]; then
    for p in mke2fs debugfs e2fsck; do
        command -v $p >/dev/null ||
            { echo "prepare-virtio: $p (e2fsprogs) is needed" >&2; exit 1; }
    done
    rm -rf "$V"
    mkdir -p "$V" "$S/k"
    (cd "$S/k" && apt-get -qq -o APT::Sandbox::User=root download "$K") ||
        { apt-get update -qq && (cd "$S/k" &&
            apt-get -qq -o APT::Sandbox::User=root download "$K"); } ||
        { echo "prepare-virtio: cannot download $K" >&2; exit 1; }
    dpkg -x "$S"/k/*.deb "$S/k/x"
    mkdir -p "$V/modules" "$V/extra" "$V/l1" "$V/edu" "$V/nvme"
    # Built-in ones are left out (the package's modules.builtin); the
    # dependencies come from each module's own "depends=" (modinfo).
    # extra/: modules a case loads itself (ib700wdt, the watchdog cases),
    # with their dependencies, in extra/order; not loaded at boot. edu/
    # and nvme/: the same for the pass-through cases (uio_pci_generic;
    # the NVMe driver, which linux-vfio-nvme loads once the case starts).
    python3 "$(dirname "$0")/kmods.py" prepare-virtio "$S"/k/x/lib/modules/* \
        "$V/modules=virtio_pci,virtio_mmio,virtio_blk,virtio_console,virtio_rng,virtio_net,crc32c_generic,ext4" \
        "$V/extra=ib700wdt" "$V/edu=uio_pci_generic" "$V/nvme=nvme" "$V/l1/tun.ko:=tun"
    # ext4 (the mke2fs defaults: extents, 64bit, metadata_csum) with one file.
    mkdir -p "$S/fs/dir"
    echo "qvm-ext4-image-file" >"$S/fs/dir/hello.txt"
    mke2fs -q -F -t ext4 -L qvmtest -d "$S/fs" "$V/ext4.img" 16M >/dev/null
    mkdir -p "$V/bin"
    cp "$(command -v debugfs)" "$(command -v e2fsck)" "$V/bin/"
    echo "$K 6" >"$V/ok"
fi
