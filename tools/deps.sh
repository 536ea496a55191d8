#!/bin/sh
# deps.sh: installs what qvm needs to build and test on Debian 12, only what
# is missing (apt-get; run as root, or with sudo available). Why each is here
# is in README.md ("Dependencies").
set -eu
PKGS="meson ninja-build gcc libc6-dev pkg-config zlib1g-dev libseccomp-dev libcmocka-dev
clang libclang-rt-14-dev clang-format python3
qemu-system-x86 busybox-static cpio lz4 e2fsprogs iproute2 acpica-tools gdb
qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
