#!/bin/sh
# prepare.sh DEST: the real guests for the lab tests (issue 5), never
# committed: Debian's generic kernel (the lab's own, tests/lab/fetch.sh),
# a busybox initramfs whose /init prints QVM-GUEST-INIT markers (init.sh),
# the vmlinux extracted from the bzImage (its PVH note) for the PVH
# case, Xen 4.17 and memtest86+; for the virtio cases an initramfs with
# Debian's virtio modules, an ext4 image and debugfs (virtio/). DEST becomes
# the payload's guests/ directory.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=$1
C=$("$HERE/../lab/fetch.sh")
mkdir -p "$DEST"
cp "$C/vmlinuz" "$DEST/vmlinuz"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/proc" "$T/sys" "$T/dev" "$T/etc" "$T/tmp"
cp "$C/busybox" "$T/bin/busybox"
mkdir -p "$T/lib/modules"
cp "$C"/guest-modules/*.ko "$T/lib/modules/"
cp "$HERE/init.sh" "$T/init"
# rtcalarm: the RTC alarm through /dev/rtc0's ioctls (init.sh's platform).
${CC:-cc} -static -O2 -o "$T/bin/rtcalarm" "$HERE/rtcalarm.c"
# edutest: drives QEMU's edu device passed through (linux-vfio-edu).
${CC:-cc} -static -O2 -o "$T/bin/edutest" "$HERE/edutest.c"
# nettool: the TCP traffic of bench/net.sh (init.sh's netbench).
${CC:-cc} -static -O2 -o "$T/bin/nettool" "$HERE/nettool.c"
chmod +x "$T/init"
(cd "$T" && find . | cpio -o -H newc --quiet | gzip -1n) >"$DEST/initramfs.cpio.gz"

# The virtio cases (issue 6): the same initramfs plus Debian's virtio
# modules (prepare-virtio.sh). Without that material only they fail.
rm -f "$DEST/initramfs-virtio.cpio.gz"
if "$HERE/prepare-virtio.sh" "$C" "$DEST"; then
    rm -rf "$T/lib/modules/virtio" "$T/lib/modules/extra" "$T/lib/modules/edu" \
        "$T/lib/modules/nvme"
    cp -a "$DEST/virtio/modules" "$T/lib/modules/virtio"
    cp -a "$DEST/virtio/extra" "$T/lib/modules/extra"
    cp -a "$DEST/virtio/edu" "$T/lib/modules/edu"
    cp -a "$DEST/virtio/nvme" "$T/lib/modules/nvme"
    (cd "$T" && find . | cpio -o -H newc --quiet | gzip -1n) >"$DEST/initramfs-virtio.cpio.gz"
else
    echo "prepare: warning: no virtio material; the virtio cases will fail" >&2
fi
# vmlinux for PVH: the bzImage payload (XZ in the generic kernel).
python3 - "$DEST/vmlinuz" "$DEST/vmlinux" <<'PY'
import lzma, struct, sys
d = open(sys.argv[1], 'rb').read()
setup_sects = d[0x1f1] or 4
off, length = struct.unpack_from('<II', d, 0x248)
payload = d[(setup_sects + 1) * 512 + off:][:length]
if payload[:6] != b'\xfd7zXZ\x00':
    sys.exit('vmlinuz payload is not XZ; cannot extract vmlinux')
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor().decompress(payload))
PY
# Debian's cloud kernel (no MP-table parser: SMP only through the ACPI
# MADT), resolved from its meta package; the ABI number is never pinned.
if [ ! -f "$DEST/vmlinuz-cloud" ]; then
    K=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [ -n "$K" ] || { apt-get update -qq >/dev/null 2>&1 || true
        K=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
            awk '/Depends: linux-image-[0-9]/ { print $2; exit }'); }
    [ -n "$K" ] || { echo "prepare: cannot resolve linux-image-cloud-amd64" >&2; exit 1; }
    mkdir -p "$T/cloud"
    (cd "$T/cloud" && apt-get -qq -o APT::Sandbox::User=root download "$K") ||
        { apt-get update -qq && (cd "$T/cloud" &&
            apt-get -qq -o APT::Sandbox::User=root download "$K"); } ||
        { echo "prepare: cannot download $K" >&2; exit 1; }
    dpkg-deb --fsys-tarfile "$T"/cloud/*.deb | tar -x -C "$T/cloud" --wildcards './boot/vmlinuz-*'
    cp "$T"/cloud/boot/vmlinuz-* "$DEST/vmlinuz-cloud"
fi
# Xen 4.17 (multiboot, gzip'd) and memtest86+ 6.x (bzImage), from Debian.
if [ ! -f "$DEST/xen-4.17-amd64.gz" ] || [ ! -f "$DEST/memtest86+x64.bin" ]; then
    D=$T/debs
    mkdir -p "$D"
    (cd "$D" && apt-get -qq -o APT::Sandbox::User=root download \
        xen-hypervisor-4.17-amd64 memtest86+) ||
        { apt-get update -qq && (cd "$D" && apt-get -qq -o APT::Sandbox::User=root \
            download xen-hypervisor-4.17-amd64 memtest86+); } ||
        { echo "prepare: cannot download xen-hypervisor-4.17-amd64 memtest86+" >&2; exit 1; }
    dpkg -x "$D"/xen-hypervisor-4.17-amd64_*.deb "$T/xen"
    dpkg -x "$D"/memtest86+_*.deb "$T/memtest"
    cp "$T"/xen/boot/xen-4.17-amd64.gz "$DEST/"
    cp "$T"/memtest/boot/memtest86+x64.bin "$DEST/"
fi
ls -l "$DEST" >&2
