#!/bin/sh
# cross-deps.sh: the arm64 libfdt for the aarch64 cross build, without
# installing it. Debian's libfdt-dev has no Multi-Arch field, so its amd64
# package (the x86 build's FDT code and unit tests) and its arm64 package
# cannot both be installed: the amd64 one is installed by apt, the arm64
# static library is taken out of Debian's own .deb (apt-get download,
# dpkg -x) into DIR (default /usr/local/lib/qvm-cross), where
# cross/aarch64-linux-gnu.txt's fdt_libdir looks. Its headers are the same
# files as the amd64 package's /usr/include ones. Run as root (CI) or with
# write access to DIR; does nothing when the library is already there.
set -eu
dir=${1:-/usr/local/lib/qvm-cross}
lib=$dir/aarch64-linux-gnu/libfdt.a
[ -f "$lib" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq libfdt-dev:arm64 2>/dev/null)
dpkg -x "$tmp"/libfdt-dev_*_arm64.deb "$tmp/x"
mkdir -p "$dir/aarch64-linux-gnu"
cp "$tmp/x/usr/lib/aarch64-linux-gnu/libfdt.a" "$lib"
echo "cross-deps: $lib"
