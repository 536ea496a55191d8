#!/bin/sh
# fetch-images.sh PROBE: real guest images through the loaders.
#
# Downloads Debian packages with `apt-get download` and unpacks them with
# `dpkg -x` into ${XDG_CACHE_HOME:-$HOME/.cache}/qvm-images (kept between
# runs; never committed), then loads each image with PROBE
# (tests/unit/image_probe.c) and checks what the loader decided against
# the image's boot contract (guests.md sections 1-3):
#   vmlinuz (linux-image-*-cloud-amd64, resolved from the meta package, and
#       the generic one the nested lab uses)
#       bzImage 2.15, relocatable: loaded at pref_address 0x1000000,
#       64-bit entry 0x1000200, boot_params filled in;
#   vmlinux extracted from that bzImage's payload (LZ4 in the cloud
#       kernel, via the lz4 CLI; gzip/xz through python3)
#       PVH: entry 0x1000850 from the Xen note, hvm_start_info v1;
#   xen-4.17-amd64.gz (xen-hypervisor-4.17-amd64), gunzipped by the loader
#       multiboot 1 wins over MB2: entry 0x200000, EAX 0x2BADB002;
#   memtest86+x64.bin (memtest86+)
#       bzImage 2.12, not relocatable: 0x100000, entry 0x100200,
#       xloadflags 0x9.
# Exit 0 when every check passes, 1 otherwise, 77 (skip) when the images
# cannot be fetched and CI is not "true".
set -u
PROBE=${1:?usage: fetch-images.sh PROBE}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/qvm-images
fails=0
n=0

unavailable() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL: $* (CI=true: the images must be available)"
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

# fetch PKG: unpack PKG into $CACHE/PKG once.
fetch() {
    [ -f "$CACHE/$1/.done" ] && return 0
    rm -rf "$CACHE/$1.tmp" && mkdir -p "$CACHE/$1.tmp" || return 1
    (cd "$CACHE/$1.tmp" && apt-get download "$1" >/dev/null 2>&1) || return 1
    dpkg -x "$CACHE/$1.tmp"/*.deb "$CACHE/$1.tmp/root" || return 1
    rm -rf "$CACHE/$1" && mv "$CACHE/$1.tmp/root" "$CACHE/$1" &&
        rm -rf "$CACHE/$1.tmp" && touch "$CACHE/$1/.done"
}

# extract_vmlinux BZIMAGE OUT: the ELF in the bzImage payload.
extract_vmlinux() {
    python3 - "$1" "$2.payload" <<'PY' || return 1
import struct, sys
d = open(sys.argv[1], 'rb').read()
setup = ((d[0x1f1] or 4) + 1) * 512
off, length = struct.unpack_from('<II', d, 0x248)
# The payload ends with the 4-byte uncompressed size (size_append).
open(sys.argv[2], 'wb').write(d[setup + off:setup + off + length - 4])
PY
    magic=$(od -An -tx1 -N4 "$2.payload" | tr -d ' ')
    case "$magic" in
    02214c18) lz4 -dc "$2.payload" >"$2" 2>/dev/null ;;
    1f8b*) python3 -c 'import gzip,sys; sys.stdout.buffer.write(gzip.decompress(open(sys.argv[1],"rb").read()))' "$2.payload" >"$2" ;;
    fd377a58) python3 -c 'import lzma,sys; sys.stdout.buffer.write(lzma.decompress(open(sys.argv[1],"rb").read()))' "$2.payload" >"$2" ;;
    28b52ffd) zstd -dc "$2.payload" >"$2" ;;
    *) echo "unknown payload compression $magic"; return 1 ;;
    esac
    rm -f "$2.payload"
    [ "$(od -An -c -N4 "$2" | tr -d ' ')" = '177ELF' ]
}

# expect OUT KEY VALUE: one check.
expect() {
    n=$((n + 1))
    got=$(sed -n "s/^$2=//p" "$1" | head -n 1)
    if [ "$got" = "$3" ]; then
        echo "ok $n - $(basename "$1" .out): $2 = $3"
    else
        echo "not ok $n - $(basename "$1" .out): $2 = '$got', expected '$3'"
        fails=$((fails + 1))
    fi
}

# probe NAME IMAGE CMDLINE [INITRD]: run the driver into $CACHE/NAME.out.
probe() {
    out="$CACHE/$1.out"
    n=$((n + 1))
    img=$2
    shift 2
    if "$PROBE" "$img" "$@" >"$out" 2>&1; then
        echo "ok $n - load $img"
    else
        echo "not ok $n - load $img"
        sed 's/^/# /' "$out"
        fails=$((fails + 1))
    fi
}

command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
    unavailable "apt-get/dpkg not available"
mkdir -p "$CACHE" || unavailable "cannot create $CACHE"
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
    awk '/Depends: linux-image-/ { print $2; exit }')
[ -n "$kpkg" ] || unavailable "cannot resolve linux-image-cloud-amd64"
for p in "$kpkg" xen-hypervisor-4.17-amd64 memtest86+; do
    fetch "$p" || unavailable "cannot download $p"
done
vmlinuz=$(ls "$CACHE/$kpkg"/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || unavailable "no vmlinuz in $kpkg"
vmlinux="$CACHE/$kpkg/vmlinux"
if [ ! -s "$vmlinux" ]; then
    extract_vmlinux "$vmlinuz" "$vmlinux" || {
        rm -f "$vmlinux"
        echo "not ok - extract vmlinux from $vmlinuz"
        exit 1
    }
fi
initrd="$CACHE/initrd.img"
printf 'qvm test initrd\n' >"$initrd"

probe vmlinuz "$vmlinuz" "console=ttyS0 nokaslr" "$initrd"
o="$CACHE/vmlinuz.out"
expect "$o" fmt bzimage
expect "$o" mode long64
expect "$o" entry 0x1000200
expect "$o" bp.version 0x20f
expect "$o" bp.relocatable 1
expect "$o" bp.xloadflags 0x7f
expect "$o" bp.kernel_alignment 0x200000
expect "$o" bp.code32_start 0x1000000
expect "$o" bp.type_of_loader 0xff
expect "$o" bp.loadflags 0x1
expect "$o" bp.vid_mode 0xffff
expect "$o" bp.cmdline "console=ttyS0 nokaslr"
expect "$o" bp.ramdisk_size 0x10
expect "$o" bp.e820_entries 6
expect "$o" "bp.e820\\[5\\]" "0x100000+0xff00000:1"

# Debian's generic kernel (XZ payload, MP-table parser): the nested lab's own,
# fetched and cached by tests/lab/fetch.sh (resolved from linux-image-amd64).
labc=$("$(dirname "$0")/../lab/fetch.sh" 2>/dev/null) ||
    unavailable "cannot fetch the generic kernel (tests/lab/fetch.sh)"
probe vmlinuz-generic "$labc/vmlinuz" "console=ttyS0 acpi=off" "$initrd"
o="$CACHE/vmlinuz-generic.out"
expect "$o" fmt bzimage
expect "$o" mode long64
expect "$o" entry 0x1000200
expect "$o" bp.version 0x20f
expect "$o" bp.relocatable 1
expect "$o" bp.xloadflags 0x7f
expect "$o" bp.type_of_loader 0xff
expect "$o" bp.cmdline "console=ttyS0 acpi=off"
expect "$o" bp.ramdisk_size 0x10

probe vmlinux "$vmlinux" "console=ttyS0" "$initrd"
o="$CACHE/vmlinux.out"
expect "$o" fmt pvh
expect "$o" mode pm32
expect "$o" entry 0x1000850
expect "$o" si.magic 0x336ec578
expect "$o" si.version 1
expect "$o" si.nr_modules 1
expect "$o" si.cmdline console=ttyS0

probe xen "$CACHE/xen-hypervisor-4.17-amd64/boot/xen-4.17-amd64.gz" \
    "console=com1 no-real-mode"
o="$CACHE/xen.out"
expect "$o" fmt multiboot1-elf
expect "$o" mode pm32
expect "$o" entry 0x200000
expect "$o" eax 0x2badb002
expect "$o" mbi.mods_count 0

probe memtest "$CACHE/memtest86+/boot/memtest86+x64.bin" "console=ttyS0,115200"
o="$CACHE/memtest.out"
expect "$o" fmt bzimage
expect "$o" entry 0x100200
expect "$o" bp.version 0x20c
expect "$o" bp.relocatable 0
expect "$o" bp.xloadflags 0x9
expect "$o" bp.code32_start 0x100000
expect "$o" bp.cmdline "console=ttyS0,115200"

echo "1..$n"
[ "$fails" -eq 0 ]
