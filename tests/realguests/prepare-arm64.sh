#!/bin/sh
# prepare-arm64.sh DEST: the material of the aarch64 real-guest cases
# (cases-arm64/): Debian's arm64 kernel `Image` and a busybox initramfs
# whose /init prints QVM-ARM64-INIT markers, the CPUs it sees and its
# interrupt counts, then powers off. Both come from the aarch64 lab's cache
# (tests/lab/fetch.sh --arch aarch64: the same Debian packages L1 boots),
# never from the repository. Rebuilt only when the cache changed.
set -eu
dest=${1:?usage: prepare-arm64.sh DEST}
here=$(cd "$(dirname "$0")" && pwd)
c=$("$here/../lab/fetch.sh" --arch aarch64)
mkdir -p "$dest"
if [ ! -f "$dest/Image" ] || [ "$c/Image" -nt "$dest/Image" ]; then
    cp "$c/Image" "$dest/Image.tmp"
    mv "$dest/Image.tmp" "$dest/Image"
fi
if [ -f "$dest/initrd-arm64.gz" ] && [ ! "$c/busybox" -nt "$dest/initrd-arm64.gz" ] &&
    [ ! "$0" -nt "$dest/initrd-arm64.gz" ]; then
    exit 0
fi
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/bin" "$t/proc" "$t/sys" "$t/dev"
cp "$c/busybox" "$t/bin/busybox"
cat >"$t/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "QVM-ARM64-INIT: userspace on $(uname -m), $(grep -c ^processor /proc/cpuinfo) CPU(s)"
grep -E 'arch_timer|pl011' /proc/interrupts | sed 's/^/QVM-ARM64-IRQ: /'
echo "QVM-ARM64-INIT: cmdline $(cat /proc/cmdline)"
poweroff -f
INIT
chmod +x "$t/init"
(cd "$t" && find . | cpio -o -H newc 2>/dev/null) | gzip -9 >"$dest/initrd-arm64.gz.tmp"
mv "$dest/initrd-arm64.gz.tmp" "$dest/initrd-arm64.gz"
