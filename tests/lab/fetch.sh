#!/bin/sh
# fetch.sh: makes sure the nested lab's material is present and prints the
# cache directory on stdout. The material is Debian's generic amd64 kernel
# (the versioned package that the linux-image-amd64 meta package depends on
# today; the ABI number is never pinned) and busybox-static, both fetched with
# `apt-get download` and unpacked with `dpkg -x` into
# ${QVM_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qvm-lab}, never into the
# repository. Missing host prerequisites (qemu-system-x86, cpio,
# busybox-static) are installed with apt-get when we are root.
# With --arch aarch64 it is the aarch64 lab's material instead, in the
# cache's aarch64/ directory (printed instead): the arm64 kernel `Image` of
# the package that linux-image-arm64:arm64 depends on (KVM is built in: no
# modules) and busybox-static:arm64, after `dpkg --add-architecture arm64`;
# the host prerequisite is qemu-system-arm.
#
# Usage: fetch.sh [--arch x86_64|aarch64] [--refresh]
#   (--refresh re-resolves and re-downloads)
# Exit status: 0, or 1 with a "lab: ..." message on stderr.
set -eu

C=${QVM_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qvm-lab}
REFRESH=0 ARCH=x86_64
while [ $# -gt 0 ]; do
    case $1 in
    --refresh) REFRESH=1; shift ;;
    --arch) [ $# -ge 2 ] || set -- "$1" ''; ARCH=$2; shift 2 ;;
    *) echo "usage: fetch.sh [--arch x86_64|aarch64] [--refresh]" >&2; exit 2 ;;
    esac
done
case $ARCH in
x86_64 | aarch64) ;;
*) echo "lab: unknown --arch '$ARCH' (x86_64 or aarch64)" >&2; exit 2 ;;
esac

fail() {
    echo "lab: $*" >&2
    exit 1
}

ensure_prereqs() {
    missing=
    command -v qemu-system-x86_64 >/dev/null 2>&1 || missing="$missing qemu-system-x86"
    command -v cpio >/dev/null 2>&1 || missing="$missing cpio"
    command -v gzip >/dev/null 2>&1 || missing="$missing gzip"
    dpkg -s busybox-static >/dev/null 2>&1 || missing="$missing busybox-static"
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || fail "missing host packages:$missing (install them as root)"
    command -v apt-get >/dev/null 2>&1 || fail "missing host packages:$missing and no apt-get"
    echo "lab: installing$missing" >&2
    # shellcheck disable=SC2086 # word splitting of the package list is wanted
    { apt-get install -y -qq $missing || { apt-get update -qq && apt-get install -y -qq $missing; }; } \
        >/dev/null 2>&1 || fail "could not install:$missing"
}

kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

download() {
    rm -f "$C"/debs/*.deb
    (cd "$C/debs" && apt-get -qq -o APT::Sandbox::User=root download "$1" busybox-static)
}

fetch() {
    command -v apt-get >/dev/null 2>&1 || fail "apt-get is needed to fetch the lab kernel"
    K=$(kernel_pkg)
    if [ -z "$K" ]; then
        apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed"
        K=$(kernel_pkg)
    fi
    [ -n "$K" ] || fail "cannot resolve linux-image-amd64 to a kernel package"
    echo "lab: fetching $K and busybox-static into $C" >&2
    rm -rf "$C/debs" "$C/ok"
    mkdir -p "$C/debs"
    if ! download "$K"; then
        # Stale package lists name versions the mirror no longer has.
        apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed"
        K=$(kernel_pkg)
        [ -n "$K" ] || fail "cannot resolve linux-image-amd64 to a kernel package"
        download "$K" || fail "apt-get download $K busybox-static failed"
    fi
    rm -rf "$C/x" "$C/vmlinuz" "$C/modules" "$C/busybox"
    mkdir -p "$C/x"
    dpkg -x "$C/debs/$K"_*.deb "$C/x/kernel" || fail "dpkg -x $K failed"
    dpkg -x "$C"/debs/busybox-static_*.deb "$C/x/busybox" || fail "dpkg -x busybox-static failed"
    # Keep only what L1 needs: the kernel image, the four KVM modules, busybox.
    set -- "$C"/x/kernel/boot/vmlinuz-*
    [ -f "$1" ] || fail "$K has no /boot/vmlinuz-*"
    cp "$1" "$C/vmlinuz"
    mkdir -p "$C/modules"
    for ko in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko drivers/crypto/ccp/ccp.ko \
        arch/x86/kvm/kvm-amd.ko; do
        set -- "$C"/x/kernel/lib/modules/*/kernel/"$ko"
        [ -f "$1" ] || fail "$K has no $ko"
        cp "$1" "$C/modules/"
    done
    # Modules the real guests (tests/realguests) load in L2: the power
    # button reaches acpid only through evdev and the ACPI button driver.
    rm -rf "$C/guest-modules"
    mkdir -p "$C/guest-modules"
    for ko in drivers/input/evdev.ko drivers/acpi/button.ko; do
        set -- "$C"/x/kernel/lib/modules/*/kernel/"$ko"
        [ -f "$1" ] || fail "$K has no $ko"
        cp "$1" "$C/guest-modules/"
    done
    copy_vfio "$C/x/kernel"
    copy_uio "$C/x/kernel"
    [ -x "$C/x/busybox/bin/busybox" ] || fail "busybox-static has no /bin/busybox"
    cp "$C/x/busybox/bin/busybox" "$C/busybox"
    rm -rf "$C/x" "$C/debs"
    echo "$K" >"$C/ok"
}

# The IOMMU lab's modules (lab-run --iommu, tests/lab/README.md): VFIO, in
# the order l1-init loads them, after the KVM modules.
VFIO_MODULES='drivers/vfio/vfio.ko drivers/vfio/vfio_iommu_type1.ko
drivers/vfio/vfio_virqfd.ko drivers/vfio/pci/vfio-pci-core.ko drivers/vfio/pci/vfio-pci.ko'
copy_vfio() { # UNPACKED_KERNEL_PACKAGE
    pkg=$1
    rm -rf "$C/vfio-modules.new"
    mkdir -p "$C/vfio-modules.new"
    for ko in $VFIO_MODULES; do
        set -- "$pkg"/lib/modules/*/kernel/"$ko"
        [ -f "$1" ] || fail "the kernel package has no $ko"
        cp "$1" "$C/vfio-modules.new/"
    done
    rm -rf "$C/vfio-modules"
    mv "$C/vfio-modules.new" "$C/vfio-modules"
}

# The UIO modules the IOMMU lab also loads (pass-intr-uio: edu bound to
# uio_pci_generic, its interrupt passed with `pass intr ...=uio:`), in a
# directory of their own so that a cache gains them without touching
# vfio-modules, which other runs may be copying meanwhile.
UIO_MODULES='drivers/uio/uio.ko drivers/uio/uio_pci_generic.ko'
copy_uio() { # UNPACKED_KERNEL_PACKAGE
    pkg=$1
    rm -rf "$C/uio-modules.new"
    mkdir -p "$C/uio-modules.new"
    for ko in $UIO_MODULES; do
        set -- "$pkg"/lib/modules/*/kernel/"$ko"
        [ -f "$1" ] || fail "the kernel package has no $ko"
        cp "$1" "$C/uio-modules.new/"
    done
    rm -rf "$C/uio-modules"
    mv "$C/uio-modules.new" "$C/uio-modules"
}

# fetch_vfio: adds the VFIO modules to a cache made before they were part of
# it, from the same kernel package (its name is in $C/ok); 1 if that package
# cannot be downloaded any more (then the whole material is fetched again).
fetch_vfio() {
    K=$(cat "$C/ok")
    echo "lab: fetching the VFIO modules of $K into $C" >&2
    rm -rf "$C/vfio-x"
    mkdir -p "$C/vfio-x/debs"
    (cd "$C/vfio-x/debs" && apt-get -qq -o APT::Sandbox::User=root download "$K") ||
        { rm -rf "$C/vfio-x"; return 1; }
    dpkg -x "$C/vfio-x/debs/$K"_*.deb "$C/vfio-x/kernel" || fail "dpkg -x $K failed"
    copy_vfio "$C/vfio-x/kernel"
    copy_uio "$C/vfio-x/kernel"
    rm -rf "$C/vfio-x"
}

# fetch_uio: the same for the UIO modules (a cache made before them).
fetch_uio() {
    K=$(cat "$C/ok")
    echo "lab: fetching the UIO modules of $K into $C" >&2
    rm -rf "$C/uio-x"
    mkdir -p "$C/uio-x/debs"
    (cd "$C/uio-x/debs" && apt-get -qq -o APT::Sandbox::User=root download "$K") ||
        { rm -rf "$C/uio-x"; return 1; }
    dpkg -x "$C/uio-x/debs/$K"_*.deb "$C/uio-x/kernel" || fail "dpkg -x $K failed"
    copy_uio "$C/uio-x/kernel"
    rm -rf "$C/uio-x"
}

# ---- the aarch64 lab ----
ensure_prereqs_arm64() {
    missing=
    command -v qemu-system-aarch64 >/dev/null 2>&1 || missing="$missing qemu-system-arm"
    command -v cpio >/dev/null 2>&1 || missing="$missing cpio"
    command -v gzip >/dev/null 2>&1 || missing="$missing gzip"
    foreign=1
    dpkg --print-foreign-architectures 2>/dev/null | grep -qx arm64 || foreign=0
    [ -z "$missing" ] && [ $foreign = 1 ] && return 0
    [ "$(id -u)" = 0 ] || fail "missing host packages:$missing${missing:+ and }$([ $foreign = 1 ] ||
        echo 'the arm64 architecture (dpkg --add-architecture arm64)') (set them up as root)"
    command -v apt-get >/dev/null 2>&1 || fail "missing host packages:$missing and no apt-get"
    if [ $foreign = 0 ]; then
        echo "lab: dpkg --add-architecture arm64" >&2
        dpkg --add-architecture arm64 || fail "dpkg --add-architecture arm64 failed"
        apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed"
    fi
    [ -z "$missing" ] && return 0
    echo "lab: installing$missing" >&2
    # shellcheck disable=SC2086 # word splitting of the package list is wanted
    { apt-get install -y -qq $missing || { apt-get update -qq && apt-get install -y -qq $missing; }; } \
        >/dev/null 2>&1 || fail "could not install:$missing"
}

kernel_pkg_arm64() {
    apt-cache depends linux-image-arm64:arm64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { sub(/:arm64$/, "", $2); print $2; exit }'
}

download_arm64() {
    rm -f "$A"/debs/*.deb
    (cd "$A/debs" && apt-get -qq -o APT::Sandbox::User=root download "$1:arm64" busybox-static:arm64)
}

fetch_arm64() {
    command -v apt-get >/dev/null 2>&1 || fail "apt-get is needed to fetch the aarch64 lab kernel"
    K=$(kernel_pkg_arm64)
    if [ -z "$K" ]; then
        apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed"
        K=$(kernel_pkg_arm64)
    fi
    [ -n "$K" ] || fail "cannot resolve linux-image-arm64:arm64 to a kernel package"
    echo "lab: fetching $K:arm64 and busybox-static:arm64 into $A" >&2
    rm -rf "$A/debs" "$A/ok"
    mkdir -p "$A/debs"
    if ! download_arm64 "$K"; then
        apt-get update -qq >/dev/null 2>&1 || fail "apt-get update failed"
        K=$(kernel_pkg_arm64)
        [ -n "$K" ] || fail "cannot resolve linux-image-arm64:arm64 to a kernel package"
        download_arm64 "$K" || fail "apt-get download $K:arm64 busybox-static:arm64 failed"
    fi
    rm -rf "$A/x" "$A/Image" "$A/busybox"
    mkdir -p "$A/x"
    dpkg -x "$A/debs/$K"_*_arm64.deb "$A/x/kernel" || fail "dpkg -x $K failed"
    dpkg -x "$A"/debs/busybox-static_*_arm64.deb "$A/x/busybox" || fail "dpkg -x busybox-static:arm64 failed"
    # Debian's arm64 /boot/vmlinuz-* is an uncompressed Image (magic "ARM\x64"
    # at offset 56), which QEMU's -kernel boots as it is.
    set -- "$A"/x/kernel/boot/vmlinuz-*
    [ -f "$1" ] || fail "$K has no /boot/vmlinuz-*"
    [ "$(dd if="$1" bs=1 skip=56 count=4 2>/dev/null | od -An -c | tr -d ' \n')" = 'ARMd' ] ||
        fail "$K's $(basename "$1") is not an arm64 Image"
    cp "$1" "$A/Image"
    [ -x "$A/x/busybox/bin/busybox" ] || fail "busybox-static:arm64 has no /bin/busybox"
    cp "$A/x/busybox/bin/busybox" "$A/busybox"
    rm -rf "$A/x" "$A/debs"
    echo "$K" >"$A/ok"
}

if [ "$ARCH" = aarch64 ]; then
    ensure_prereqs_arm64
    A=$C/aarch64
    mkdir -p "$A"
    if [ "$REFRESH" = 1 ] || [ ! -f "$A/ok" ]; then
        exec 8>"$A/fetch.lock"
        flock 8
        if [ "$REFRESH" = 1 ] || [ ! -f "$A/ok" ]; then
            fetch_arm64
        fi
        exec 8>&-
    fi
    echo "$A"
    exit 0
fi

# ---- the x86 lab ----
ensure_prereqs
mkdir -p "$C"
[ -d "$C/guest-modules" ] || REFRESH=1 # caches from before guest-modules
if [ "$REFRESH" = 1 ] || [ ! -f "$C/ok" ]; then
    # One fetch at a time, even when two runners start together.
    exec 8>"$C/fetch.lock"
    flock 8
    if [ "$REFRESH" = 1 ] || [ ! -f "$C/ok" ]; then
        fetch
    fi
    exec 8>&-
fi
if [ ! -d "$C/vfio-modules" ]; then
    exec 8>"$C/fetch.lock"
    flock 8
    if [ ! -d "$C/vfio-modules" ] && ! fetch_vfio; then
        fetch
    fi
    exec 8>&-
fi
if [ ! -d "$C/uio-modules" ]; then
    exec 8>"$C/fetch.lock"
    flock 8
    if [ ! -d "$C/uio-modules" ] && ! fetch_uio; then
        fetch
    fi
    exec 8>&-
fi
echo "$C"
