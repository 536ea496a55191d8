#!/bin/sh
# mk-initramfs.sh: builds the nested lab's L1 initramfs: busybox-static, the
# four KVM modules (irqbypass, kvm, ccp, kvm-amd), tests/lab/l1-init as /init,
# PAYLOAD copied to /payload (it must hold entry.sh, which /init runs), the
# optional OVERLAY copied onto /, and the `ldd` libraries and dynamic loader of
# every executable in both, at their host paths.
# With --arch aarch64 (the aarch64 lab): busybox-static:arm64 and no modules
# (KVM is built into Debian's arm64 kernel); every ELF program in the payload
# and overlay must be a static aarch64 one (the host's ldd cannot resolve
# arm64 libraries): an x86 program or a dynamically linked one is an error.
# /lib/modules/load lists the modules /init loads, in order.
# With --iommu (x86 only, the IOMMU lab of lab-run --iommu): also Debian's
# VFIO modules (vfio, vfio_iommu_type1, vfio_virqfd, vfio-pci-core, vfio-pci,
# after the KVM ones), the UIO ones (uio, uio_pci_generic: nothing bound to
# it at boot) and /lib/modules/vfio-ids, the vendor and device IDs
# /init binds to vfio-pci (QEMU's edu, 1234 11e8; a modern virtio-rng-pci,
# 1af4 1044, for MSI-X; QEMU's NVMe controller, 1b36 0010, for MSI-X in a
# BAR shared with registers).
#
# Usage: mk-initramfs.sh [--arch x86_64|aarch64] [--iommu] CACHE OUT.cpio.gz PAYLOAD [OVERLAY]
#   CACHE is the directory printed by fetch.sh (with the same --arch).
set -eu
ARCH=x86_64 IOMMU=0
while :; do
    case ${1:-} in
    --arch)
        ARCH=${2:-}
        shift 2 || shift
        ;;
    --iommu) IOMMU=1; shift ;;
    *) break ;;
    esac
done
[ $# -ge 3 ] || { echo "usage: mk-initramfs.sh [--arch x86_64|aarch64] [--iommu] CACHE OUT PAYLOAD [OVERLAY]" >&2; exit 2; }
C=$1 OUT=$2 PAYLOAD=$3 OVERLAY=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
case $ARCH in
x86_64) MODULES='irqbypass kvm ccp kvm-amd' ;;
aarch64) MODULES='' ;;
*) echo "mk-initramfs: unknown --arch '$ARCH'" >&2; exit 2 ;;
esac
if [ $IOMMU = 1 ]; then
    [ "$ARCH" = x86_64 ] || { echo "mk-initramfs: --iommu is for the x86 lab only" >&2; exit 2; }
    [ -d "$C/vfio-modules" ] || { echo "mk-initramfs: no $C/vfio-modules (run fetch.sh)" >&2; exit 1; }
    [ -d "$C/uio-modules" ] || { echo "mk-initramfs: no $C/uio-modules (run fetch.sh)" >&2; exit 1; }
fi
[ -f "$PAYLOAD/entry.sh" ] || { echo "mk-initramfs: $PAYLOAD/entry.sh missing" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/qvm-l1root.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/sbin" "$T/proc" "$T/sys" "$T/dev" "$T/tmp" "$T/root" \
    "$T/lib/modules" "$T/payload"
cp "$C/busybox" "$T/bin/busybox"
for m in $MODULES; do
    cp "$C/modules/$m.ko" "$T/lib/modules/"
done
if [ $IOMMU = 1 ]; then
    for m in vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci; do
        cp "$C/vfio-modules/$m.ko" "$T/lib/modules/"
        MODULES="$MODULES $m"
    done
    for m in uio uio_pci_generic; do
        cp "$C/uio-modules/$m.ko" "$T/lib/modules/"
        MODULES="$MODULES $m"
    done
    printf '1234 11e8\n1af4 1044\n1b36 0010\n' >"$T/lib/modules/vfio-ids"
fi
echo "$MODULES" >"$T/lib/modules/load"
if [ -n "$OVERLAY" ]; then
    cp -a "$OVERLAY"/. "$T/"
fi
cp -a "$PAYLOAD"/. "$T/payload/"
cp "$HERE/l1-init" "$T/init"
chmod 755 "$T/init"

# elf_machine FILE: e_machine of an ELF file (62 x86-64, 183 aarch64), or
# nothing for any other file.
elf_machine() {
    [ "$(head -c 4 "$1" | od -An -c | tr -d ' \n')" = '177ELF' ] || return 0
    od -An -tu2 -j18 -N2 "$1" | tr -d ' '
}
find "$T/payload" ${OVERLAY:+"$T"} -path "$T/lib/modules" -prune -o \
    -type f -perm -u+x -print | sort -u | while IFS= read -r f; do
    if [ "$ARCH" = x86_64 ]; then
        "$HERE/copy-libs.sh" "$T" "$f"
        continue
    fi
    [ "$f" != "$T/bin/busybox" ] || continue
    m=$(elf_machine "$f")
    case $m in
    '') ;;
    183)
        if LC_ALL=C readelf -l "$f" 2>/dev/null | grep -q 'Requesting program interpreter'; then
            echo "mk-initramfs: ${f#"$T"} is dynamically linked; the aarch64 lab runs static programs only" >&2
            exit 1
        fi
        ;;
    *)
        echo "mk-initramfs: ${f#"$T"} is not an aarch64 program (ELF machine $m)" >&2
        exit 1
        ;;
    esac
done
(cd "$T" && find . | cpio -o -H newc --quiet | gzip -1n) >"$OUT"
