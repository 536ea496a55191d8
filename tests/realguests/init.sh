#!/bin/busybox sh
# /init of the real-guest initramfs (tests/realguests/prepare.sh). Prints
# markers on the console that the cases check, then acts on qvmtest=ACTION
# from the kernel command line: poweroff (default), reboot, shell, wait,
# and for the virtio cases netwait and blk, blkro, rng, net, for the
# platform cases platform, for the watchdog cases wdtpet and wdtstarve
# (several joined with '+', then poweroff).
# The virtio initramfs also holds Debian's virtio modules
# (/lib/modules/virtio, "order" lists them in dependency order); they are
# loaded first, since the console itself may be one (console=hvc0).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mods=''
if [ -f /lib/modules/virtio/order ]; then
    n=0 bad=''
    for m in $(cat /lib/modules/virtio/order); do
        # MODULE.PARAM=VALUE from the command line, as modprobe would.
        args=''
        for w in $(cat /proc/cmdline); do
            case $w in "$m".*) args="$args ${w#"$m".}" ;; esac
        done
        # shellcheck disable=SC2086 # the parameters are words
        if insmod "/lib/modules/virtio/$m.ko" $args 2>/dev/null; then
            n=$((n + 1))
        else
            bad="$bad $m"
        fi
    done
    mods="QVM-GUEST-INIT: modules loaded=$n failed=${bad:- none}"
    # With console=hvc0 there was no console until virtio_console came.
    i=0
    while ! : >/dev/console 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    exec </dev/console >/dev/console 2>&1
fi
echo "QVM-GUEST-INIT: start"
[ -z "$mods" ] || echo "$mods"
cpus=$(grep -c '^processor' /proc/cpuinfo)
mem=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)
echo "QVM-GUEST-INIT: cpus=$cpus mem_kb=$mem"
echo "QVM-GUEST-INIT: cmdline: $(cat /proc/cmdline)"
bad=$(dmesg | grep -ciE 'WARNING:|BUG:|call trace')
echo "QVM-GUEST-INIT: kernel-log-problems=$bad"
act=poweroff ip='' peer=''
for w in $(cat /proc/cmdline); do
    case $w in
    qvmtest=*) act=${w#qvmtest=} ;;
    qvmip=*) ip=${w#qvmip=} ;;
    qvmpeer=*) peer=${w#qvmpeer=} ;;
    esac
done
say() { echo "QVM-GUEST-INIT: $*"; }

# wait_power_button: waits until the power button (SIGTERM to qvm), which
# reaches us through acpid; Debian builds evdev and button as modules.
wait_power_button() {
    insmod /lib/modules/evdev.ko
    insmod /lib/modules/button.ko
    mkdir -p /etc/acpi/PWRF
    printf '#!/bin/sh\necho "QVM-GUEST-INIT: power button, shutting down" >/dev/console\nsync\npoweroff -f\n' >/etc/acpi/PWRF/00000080
    chmod +x /etc/acpi/PWRF/00000080
    mkdir -p /var/log /var/run
    acpid >/dev/null 2>&1
    say "waiting"
    while :; do sleep 1; done
}

# wait_dev DEV: virtio probing may finish after insmod returns.
wait_dev() {
    i=0
    while [ ! -e "$1" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -e "$1" ] || say "no $1"
}

# The virtio disk: an ext4 image with dir/hello.txt (prepare.sh).
blk() {
    wait_dev /dev/vda
    say "vda ro=$(cat /sys/block/vda/ro) size=$(cat /sys/block/vda/size)"
    say "vda at $(readlink -f /sys/block/vda)"
    # The negotiated features (bit 32: VIRTIO_F_VERSION_1, modern) and how
    # the interrupts come (PCI-MSI: MSI-X; IO-APIC: INTx or virtio-mmio).
    say "vda features $(cat /sys/block/vda/device/features)"
    grep virtio /proc/interrupts | while read -r l; do say "irq: $l"; done
    mkdir -p /mnt
    if mount -t ext4 /dev/vda /mnt; then
        say "read: $(cat /mnt/dir/hello.txt)"
        echo "written-by-the-guest" >/mnt/dir/guest.txt && sync &&
            say "wrote dir/guest.txt"
        umount /mnt && say "unmounted"
    else
        say "mount failed"
    fi
}
blkro() {
    wait_dev /dev/vda
    say "vda ro=$(cat /sys/block/vda/ro)"
    mkdir -p /mnt
    if mount -t ext4 -o ro /dev/vda /mnt; then
        say "read: $(cat /mnt/dir/hello.txt)"
        umount /mnt
    else
        say "mount failed"
    fi
    # A raw write, even with the block device's own flag cleared: the
    # disk stays read-only (the device offered VIRTIO_BLK_F_RO).
    blockdev --setrw /dev/vda
    if dd if=/dev/zero of=/dev/vda bs=4096 count=4 seek=64 oflag=direct \
        conv=fsync 2>/tmp/dd.err; then
        say "raw write accepted"
    else
        say "raw write refused: $(head -n 1 /tmp/dd.err)"
    fi
}
rng() {
    wait_dev /dev/hwrng
    say "rng_current=$(cat /sys/class/misc/hw_random/rng_current)"
    a=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
    b=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
    say "hwrng: $a"
    say "hwrng: $b"
}
# net: eth0 gets qvmip=ADDR/LEN; with qvmpeer=ADDR, pings it (for up to
# 60 s: the peer may still be booting).
net() {
    wait_dev /sys/class/net/eth0
    ip link set lo up
    ip link set eth0 up
    ip addr add "$ip" dev eth0
    say "eth0 $(cat /sys/class/net/eth0/address) $ip"
    [ -n "$peer" ] || return 0
    i=0
    while [ $i -lt 30 ]; do
        if ping -c 2 -W 2 "$peer" >/tmp/ping 2>&1; then
            say "ping $peer ok: $(grep -c 'bytes from' /tmp/ping) replies"
            return 0
        fi
        i=$((i + 1))
    done
    say "ping $peer failed"
}

# wdt_open: loads the extra modules (ib700wdt; MODULE.PARAM=VALUE words
# of the command line as parameters, e.g. ib700wdt.timeout=10) and opens
# /dev/watchdog as fd 3, which starts it; then pets it once a second for
# 12 s (more than the timeout the cases give).
wdt_open() {
    for m in $(cat /lib/modules/extra/order 2>/dev/null); do
        args=''
        for w in $(cat /proc/cmdline); do
            case $w in "$m".*) args="$args ${w#"$m".}" ;; esac
        done
        # shellcheck disable=SC2086 # the parameters are words
        insmod "/lib/modules/extra/$m.ko" $args || say "insmod $m failed"
    done
    wait_dev /dev/watchdog
    exec 3>/dev/watchdog || { say "cannot open /dev/watchdog"; return 1; }
    say "watchdog opened"
    i=0
    while [ $i -lt 12 ]; do
        echo >&3
        sleep 1
        i=$((i + 1))
    done
    say "watchdog petted $i times"
}
# wdtpet: the magic close ('V' then close: the driver stops the
# watchdog), 15 s more (longer than the timeout), then power off.
wdtpet() {
    wdt_open || return
    printf V >&3
    exec 3>&-
    say "watchdog closed with the magic character"
    sleep 15
    say "alive 15 s after the magic close"
}
# wdtstarve: close without the magic character (the driver pings once
# and leaves it running) and stop petting: qvm must end the guest.
wdtstarve() {
    wdt_open || return
    exec 3>&-
    say "watchdog closed without the magic character; no more petting"
    sleep 60
    say "FAIL still alive 60 s after the last pet"
}

# irqs NAME: the interrupt count of /proc/interrupts' line ending in NAME
# (all CPUs added up), 0 when there is none.
irqs() {
    awk -v n="$1" '$NF == n { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s; f = 1 } END { if (!f) print 0 }' /proc/interrupts
}
# platform: what the interrupt controllers and timers gave Linux (the
# platform cases): the serial line's controller and count, the timer
# interrupt, the clocksources (and hpet selected), the RTC read and an
# alarm 2 s ahead through /dev/rtc0 (rtcalarm.c) that must interrupt.
platform() {
    say "serial: $(grep -E 'ttyS0$' /proc/interrupts | tr -s ' ')"
    say "timer: $(grep -E '^ *0:' /proc/interrupts | tr -s ' ')"
    cs=/sys/devices/system/clocksource/clocksource0
    say "clocksources: $(cat $cs/available_clocksource)"
    if grep -qw hpet $cs/available_clocksource; then
        echo hpet >$cs/current_clocksource
        a=$(cut -d' ' -f1 /proc/uptime)
        sleep 1
        b=$(cut -d' ' -f1 /proc/uptime)
        say "hpet selected: $(cat $cs/current_clocksource) (uptime $a -> $b across a 1 s sleep)"
    fi
    say "hwclock: $(hwclock -r -u 2>&1)"
    before=$(irqs rtc0)
    say "$(/bin/rtcalarm 2>&1)"
    say "rtc alarm: interrupts $before -> $(irqs rtc0)"
    while read -r l; do say "rtc: $l"; done </proc/driver/rtc
    grep -E 'IO-APIC|XT-PIC' /proc/interrupts | while read -r l; do say "irq: $l"; done
}

case $act in
reboot)
    say "done, rebooting"
    reboot -f
    ;;
shell)
    say "shell ready"
    exec sh </dev/console >/dev/console 2>&1
    ;;
wait)
    wait_power_button
    ;;
netwait)
    net
    wait_power_button
    ;;
*)
    # poweroff, or checks joined with '+' (blk+rng), then poweroff; a last
    # `reboot` reboots instead (acpi=off: no ACPI power-off; reboot=k
    # resets through the 8042, which ends qvm with 0).
    end=poweroff
    for a in $(echo "$act" | tr '+' ' '); do
        case $a in
        blk | blkro | rng | net | platform | wdtpet | wdtstarve) $a ;;
        reboot) end=reboot ;;
        esac
    done
    if [ $end = reboot ]; then
        say "done, rebooting"
        reboot -f
    fi
    say "done, powering off"
    poweroff -f
    ;;
esac
