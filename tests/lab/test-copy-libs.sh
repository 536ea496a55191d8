#!/bin/sh
# test-copy-libs.sh: copy-libs.sh makes a dynamic program runnable in an
# otherwise empty root, and mk-initramfs.sh puts the libraries, the loader,
# the payload, the modules and /init into the L1 image. Needs no network and
# no KVM. Usage: test-copy-libs.sh DYNAMIC_PROGRAM (e.g. build/tools/kvm-probe)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PROG=${1:?usage: test-copy-libs.sh DYNAMIC_PROGRAM}
T=$(mktemp -d "${TMPDIR:-/tmp}/test-copy-libs.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}
ldd "$PROG" >/dev/null 2>&1 || fail "$PROG is not a dynamic program"

# 1. copy-libs: every ldd path, the loader included, lands under ROOT.
"$HERE/copy-libs.sh" "$T/root" "$PROG"
for lib in $(ldd "$PROG" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
    [ -f "$T/root$lib" ] || fail "copy-libs did not copy $lib"
done
interp=$(ldd "$PROG" | sed -n 's/^[[:space:]]*\(\/[^ ]*ld-linux[^ ]*\) .*/\1/p')
{ [ -n "$interp" ] && [ -f "$T/root$interp" ]; } || fail "copy-libs did not copy the loader"
# ... and the program runs there (chroot needs root).
if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null; then
    mkdir -p "$T/root/bin"
    cp "$PROG" "$T/root/bin/prog"
    chroot "$T/root" /bin/prog /nonexistent >"$T/out" 2>&1 || true
    grep -q . "$T/out" || fail "the program did not run in the copied root"
    ! grep -qi 'error while loading shared libraries' "$T/out" ||
        fail "the program did not find its libraries: $(cat "$T/out")"
fi
# A static or non-ELF file is left alone.
echo 'not elf' >"$T/text"
"$HERE/copy-libs.sh" "$T/empty" "$T/text"
[ ! -e "$T/empty" ] || fail "copy-libs copied something for a non-ELF file"

# 2. mk-initramfs: with a stand-in cache (no network).
mkdir -p "$T/cache/modules" "$T/payload/bin"
for m in irqbypass kvm ccp kvm-amd; do echo "$m" >"$T/cache/modules/$m.ko"; done
bb=$(command -v busybox || true)
[ -n "$bb" ] || bb=$PROG
cp "$bb" "$T/cache/busybox"
cp "$PROG" "$T/payload/bin/prog"
echo 'exit 0' >"$T/payload/entry.sh"
mkdir -p "$T/overlay/srv"
echo data >"$T/overlay/srv/file"
"$HERE/mk-initramfs.sh" "$T/cache" "$T/l1.cpio.gz" "$T/payload" "$T/overlay"
gzip -dc "$T/l1.cpio.gz" | (cd "$T" && mkdir x && cd x && cpio -id --quiet)
for f in init bin/busybox payload/entry.sh payload/bin/prog srv/file \
    lib/modules/irqbypass.ko lib/modules/kvm.ko lib/modules/ccp.ko \
    lib/modules/kvm-amd.ko "${interp#/}"; do
    [ -e "$T/x/$f" ] || fail "the initramfs lacks /$f"
done
for lib in $(ldd "$PROG" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p'); do
    [ -f "$T/x$lib" ] || fail "the initramfs lacks $lib"
done
# l1-init loads the modules /lib/modules/load lists, in that order.
[ "$(cat "$T/x/lib/modules/load")" = 'irqbypass kvm ccp kvm-amd' ] ||
    fail "the initramfs's /lib/modules/load is not the x86 lab's module list"
echo "PASS: copy-libs and mk-initramfs"
