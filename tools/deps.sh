#!/bin/sh
# deps.sh: installs what qvm needs to build and test on Debian 12, only what
# is missing (apt-get; run as root, or with sudo available). Why each is here
# is in README.md ("Dependencies").
set -eu
PKGS="meson ninja-build gcc libc6-dev pkg-config zlib1g-dev libseccomp-dev libcmocka-dev
libfdt-dev device-tree-compiler
clang libclang-rt-14-dev clang-format clang-tidy cppcheck python3
qemu-system-x86 busybox-static cpio lz4 e2fsprogs iproute2 acpica-tools gdb gdb-multiarch
qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross zlib1g-dev:arm64 libseccomp-dev:arm64
dpkg-dev debhelper fakeroot lintian groff-base man-db systemd"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ -n "$missing" ]; then
    echo "deps: installing$missing" >&2
    # The aarch64 cross build links arm64 builds of the static libraries.
    dpkg --print-foreign-architectures | grep -qx arm64 ||
        $SUDO dpkg --add-architecture arm64
    $SUDO apt-get -o DPkg::Lock::Timeout=900 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null
fi
# The arm64 libfdt.a, out of its package (the two arches conflict).
$SUDO "$(dirname "$0")/cross-deps.sh"
