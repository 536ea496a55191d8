#!/bin/sh
# prepare-arm64.sh DEST: the material of the aarch64 real-guest cases
# (cases-arm64/): Debian's arm64 kernel `Image` and a busybox initramfs
# whose /init prints QVM-ARM64-INIT markers, the CPUs it sees and its
# interrupt counts, then powers off. Both come from the aarch64 lab's cache
# (tests/lab/fetch.sh --arch aarch64: the same Debian packages L1 boots),
# never from the repository. Rebuilt only when the cache changed. Also the
# virtio cases' initramfs and L1's tun.ko (virtio_initrd below).
set -eu
dest=${1:?usage: prepare-arm64.sh DEST}
here=$(cd "$(dirname "$0")" && pwd)
c=$("$here/../lab/fetch.sh" --arch aarch64)
mkdir -p "$dest"

# virtio_initrd: initrd-arm64-virtio.gz, the initramfs of the virtio cases
# (cases-arm64/linux-aarch64-virtio*.sh): the x86 real guests' /init
# (../init.sh) and busybox, with Debian's own modules for this very kernel
# (its Image has only the virtio core built in: virtio_mmio, virtio_blk,
# virtio_net with net_failover/failover, virtio_rng and virtio_console are
# modules; so are the watchdog's sp805_wdt and the power key's gpio_keys
# and evdev, while gpio-pl061 and the watchdog core are built in) in
# dependency order in lib/modules/virtio/order, which /init loads first;
# and l1/tun.ko, for the taps the cases make in L1. The
# modules (virtio-modules/) are downloaded again only for another kernel
# package (the cache's "ok") or another list (the number after it in
# virtio-modules/ok); the initramfs is made again when they,
# init.sh, busybox or this script are newer. Needs python3.
virtio_initrd() {
    K=$(cat "$c/ok")
    M=$dest/virtio-modules
    # The modules: downloaded again only for another kernel package or
    # another module list (2: with sp805_wdt, gpio_keys and evdev).
    if [ "$(cat "$M/ok" 2>/dev/null)" != "$K 2" ]; then
        rm -rf "$M"
        mkdir -p "$M" "$t/k" "$dest/l1"
        (cd "$t/k" && apt-get -qq -o APT::Sandbox::User=root download "$K:arm64") ||
            { apt-get update -qq && (cd "$t/k" &&
                apt-get -qq -o APT::Sandbox::User=root download "$K:arm64"); } ||
            { echo "prepare-arm64: cannot download $K:arm64" >&2; exit 1; }
        dpkg -x "$t"/k/*.deb "$t/k/x"
        virtio_modules "$t"/k/x/lib/modules/* "$M" "$dest/l1"
        rm -rf "$t/k"
        echo "$K 2" >"$M/ok"
    fi
    i=$dest/initrd-arm64-virtio.gz
    if [ -f "$i" ] && [ ! "$M/ok" -nt "$i" ] && [ ! "$here/init.sh" -nt "$i" ] &&
        [ ! "$c/busybox" -nt "$i" ] && [ ! "$0" -nt "$i" ]; then
        return 0
    fi
    mkdir -p "$t/v/bin" "$t/v/proc" "$t/v/sys" "$t/v/dev" "$t/v/tmp" \
        "$t/v/lib/modules/virtio"
    cp "$M"/*.ko "$M/order" "$t/v/lib/modules/virtio/"
    cp "$c/busybox" "$t/v/bin/busybox"
    cp "$here/init.sh" "$t/v/init"
    chmod +x "$t/v/init"
    (cd "$t/v" && find . | cpio -o -H newc 2>/dev/null) | gzip -9 >"$i.tmp"
    mv "$i.tmp" "$i"
    rm -rf "$t/v"
}
# virtio_modules MODDIR OUT L1: the virtio modules of the kernel's module
# tree MODDIR, and those of the watchdog and the power key (the services
# case, cases-arm64/linux-arm64-services.sh), with their dependencies, into
# OUT, their load order in OUT/order (kmods.py); tun.ko into L1.
virtio_modules() {
    python3 "$here/kmods.py" prepare-arm64 "$1" \
        "$2=virtio_mmio,virtio_blk,virtio_console,virtio_rng,virtio_net,sp805_wdt,gpio_keys,evdev" \
        "$3/tun.ko:=tun"
}
if [ ! -f "$dest/Image" ] || [ "$c/Image" -nt "$dest/Image" ]; then
    cp "$c/Image" "$dest/Image.tmp"
    mv "$dest/Image.tmp" "$dest/Image"
fi
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
virtio_initrd
if [ -f "$dest/initrd-arm64.gz" ] && [ ! "$c/busybox" -nt "$dest/initrd-arm64.gz" ] &&
    [ ! "$0" -nt "$dest/initrd-arm64.gz" ]; then
    exit 0
fi
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
