#!/bin/sh
# fetch.sh: makes sure the nested lab's material is present and prints the
# cache directory on stdout. The material is Debian's generic amd64 kernel
# (the versioned package that the linux-image-amd64 meta package depends on
# today; the ABI number is never pinned) and busybox-static, both fetched with
# `apt-get download` and unpacked with `dpkg -x` into
# ${QVM_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qvm-lab}, never into the
# repository. Missing host prerequisites (qemu-system-x86, cpio,
# busybox-static) are installed with apt-get when we are root.
#
# Usage: fetch.sh [--refresh]     (--refresh re-resolves and re-downloads)
# Exit status: 0, or 1 with a "lab: ..." message on stderr.
set -eu

C=${QVM_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qvm-lab}
REFRESH=0
[ "${1:-}" = --refresh ] && REFRESH=1

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
    [ -x "$C/x/busybox/bin/busybox" ] || fail "busybox-static has no /bin/busybox"
    cp "$C/x/busybox/bin/busybox" "$C/busybox"
    rm -rf "$C/x" "$C/debs"
    echo "$K" >"$C/ok"
}

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
echo "$C"
