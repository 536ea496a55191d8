#!/bin/sh
# mk-initramfs.sh: builds the nested lab's L1 initramfs: busybox-static, the
# four KVM modules (irqbypass, kvm, ccp, kvm-amd), tests/lab/l1-init as /init,
# PAYLOAD copied to /payload (it must hold entry.sh, which /init runs), the
# optional OVERLAY copied onto /, and the `ldd` libraries and dynamic loader of
# every executable in both, at their host paths.
#
# Usage: mk-initramfs.sh CACHE OUT.cpio.gz PAYLOAD [OVERLAY]
#   CACHE is the directory printed by fetch.sh.
set -eu
[ $# -ge 3 ] || { echo "usage: mk-initramfs.sh CACHE OUT PAYLOAD [OVERLAY]" >&2; exit 2; }
C=$1 OUT=$2 PAYLOAD=$3 OVERLAY=${4:-}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -f "$PAYLOAD/entry.sh" ] || { echo "mk-initramfs: $PAYLOAD/entry.sh missing" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/qvm-l1root.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin" "$T/sbin" "$T/proc" "$T/sys" "$T/dev" "$T/tmp" "$T/root" \
    "$T/lib/modules" "$T/payload"
cp "$C/busybox" "$T/bin/busybox"
cp "$C"/modules/*.ko "$T/lib/modules/"
if [ -n "$OVERLAY" ]; then
    cp -a "$OVERLAY"/. "$T/"
fi
cp -a "$PAYLOAD"/. "$T/payload/"
cp "$HERE/l1-init" "$T/init"
chmod 755 "$T/init"
find "$T/payload" ${OVERLAY:+"$T"} -path "$T/lib/modules" -prune -o \
    -type f -perm -u+x -print | sort -u | while IFS= read -r f; do
    "$HERE/copy-libs.sh" "$T" "$f"
done
(cd "$T" && find . | cpio -o -H newc --quiet | gzip -1n) >"$OUT"
