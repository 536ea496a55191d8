#!/bin/busybox sh
# /init of the real-guest initramfs (tests/realguests/prepare.sh). Prints
# markers on the console that the cases check, then acts on qvmtest=ACTION
# from the kernel command line: poweroff (default), reboot, shell, wait,
# and for the virtio cases netwait and blk, blkro, blkraw, rng, hvc, net,
# nets, for bench/net.sh netbench, for the platform cases platform, for
# the watchdog cases wdtpet, wdtstarve and wdtsvc, for the pass-through
# cases edu, eduhold and nvme
# (several joined with '+', then poweroff, or a last `shell`).
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
[ "$bad" = 0 ] || dmesg | grep -iE 'WARNING:|BUG:|call trace' | head -n 10 |
    sed 's/^/QVM-GUEST-INIT: klog: /'
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
# reaches us through acpid, as a KEY_POWER input event: on x86 from ACPI's
# button (Debian builds evdev and button as modules, in /lib/modules), on
# aarch64 from gpio-keys on qvm's PL061 (gpio_keys and evdev were loaded
# with the virtio modules). acpid opens the event devices once it is in
# the background: "waiting" only when it holds all of them (a key pressed
# before that would reach no one).
wait_power_button() {
    for m in evdev button; do
        [ ! -f /lib/modules/$m.ko ] || insmod /lib/modules/$m.ko
    done
    wait_dev /dev/input/event0
    sed -n 's/^N: Name="\(.*\)"$/\1/p' /proc/bus/input/devices |
        while read -r n; do say "input device: $n"; done
    mkdir -p /etc/acpi/PWRF
    printf '#!/bin/sh\necho "QVM-GUEST-INIT: power button, shutting down" >/dev/console\nsync\npoweroff -f\n' >/etc/acpi/PWRF/00000080
    chmod +x /etc/acpi/PWRF/00000080
    mkdir -p /var/log /var/run
    acpid >/dev/null 2>&1
    i=0
    while ! acpid_listens && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    say "waiting"
    while :; do sleep 1; done
}

# acpid_listens: acpid (the only reader) has every /dev/input/event* open.
acpid_listens() {
    n=0 k=0
    for e in /dev/input/event*; do
        [ -e "$e" ] && n=$((n + 1))
    done
    for f in /proc/[0-9]*/fd/*; do
        case $(readlink "$f" 2>/dev/null) in /dev/input/event*) k=$((k + 1)) ;; esac
    done
    [ $n -gt 0 ] && [ $k -ge $n ]
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

# netbench (bench/net.sh): eth0 as for net; without qvmpeer, serve
# nettool on port 5001 until a client says quit; with qvmpeer, the client
# against it: for each of qvmnb=BYTES,COUNT,REPS's REPS rounds a stream of
# BYTES each way and COUNT one-byte round trips (nettool prints @@NET
# lines), then quit the server.
# tcp_counters: "RetransSegs=N OutSegs=N InSegs=N" from /proc/net/snmp
tcp_counters() {
    awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) f[$i] = i; h = 1; next }
        print "RetransSegs=" $f["RetransSegs"], "OutSegs=" $f["OutSegs"], "InSegs=" $f["InSegs"] }' /proc/net/snmp
}

netbench() {
    net
    if [ -z "$peer" ]; then
        /bin/nettool serve 5001
        say "nettool serve exit status $?"
        # For the bench's per-boot counters (@@BENCH-STATS): TCP's
        # retransmissions, the clock source, the virtio interrupts.
        say "netstat: tcp $(tcp_counters) clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
        grep virtio /proc/interrupts | while read -r l; do say "netstat: irq $l"; done
        return
    fi
    nb=''
    for w in $(cat /proc/cmdline); do
        case $w in qvmnb=*) nb=${w#qvmnb=} ;; esac
    done
    # shellcheck disable=SC2046 # the three numbers are words
    set -- $(echo "${nb:-33554432,1000,1}" | tr ',' ' ')
    r=1
    while [ $r -le "$3" ]; do
        /bin/nettool send "$peer" 5001 "$1"
        /bin/nettool recv "$peer" 5001 "$1"
        /bin/nettool rr "$peer" 5001 "$2"
        r=$((r + 1))
    done
    /bin/nettool quit "$peer" 5001
    say "netbench done"
}

# blkraw: the virtio disk as raw sectors (the aarch64 cases, whose L1 has
# no e2fsprogs): the case wrote a line at its start; the guest reads it
# and writes its own line 1 MiB in (fsync'ed), for the case to read back.
blkraw() {
    wait_dev /dev/vda
    say "vda size=$(cat /sys/block/vda/size) ro=$(cat /sys/block/vda/ro)"
    say "vda features $(cat /sys/block/vda/device/features)"
    grep virtio /proc/interrupts | while read -r l; do say "irq: $l"; done
    say "vda read: $(head -c 64 /dev/vda | head -n 1)"
    if echo "written-by-the-guest-on-$(uname -m)" |
        dd of=/dev/vda bs=512 seek=2048 conv=sync,fsync 2>/tmp/dd.err; then
        say "vda wrote"
    else
        say "vda write failed: $(head -n 1 /tmp/dd.err)"
    fi
}
# hvc: a line out of virtio-console's first port (hvc0).
hvc() {
    wait_dev /dev/hvc0
    echo "QVM-HVC: hello from $(uname -m) on hvc0" >/dev/hvc0 && say "hvc0 written"
}
# echos: the ICMP echo requests this guest has received.
echos() {
    awk '/^Icmp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i } else print $c }' \
        /proc/net/snmp
}
# nets: each qvmnet=MAC,ADDR/LEN,PEER word: the interface with that MAC
# gets ADDR and pings PEER (for up to 60 s: the peer may still be
# booting); then, with qvmechos=N, waits (up to 60 s) until N echo
# requests came in, so that a peer that pings this guest is answered
# before it powers off.
nets() {
    ip link set lo up
    for w in $(cat /proc/cmdline); do
        case $w in qvmnet=*) ;; *) continue ;; esac
        set -- $(echo "${w#qvmnet=}" | tr ',' ' ')
        i=0 dev=''
        while [ -z "$dev" ] && [ $i -lt 100 ]; do
            for d in /sys/class/net/*; do
                [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && dev=${d##*/}
            done
            [ -n "$dev" ] || sleep 0.1
            i=$((i + 1))
        done
        [ -n "$dev" ] || { say "no interface with MAC $1"; continue; }
        ip link set "$dev" up
        ip addr add "$2" dev "$dev"
        say "net $dev $1 $2"
    done
    for w in $(cat /proc/cmdline); do
        case $w in qvmnet=*) ;; *) continue ;; esac
        p=$(echo "$w" | cut -d, -f3)
        i=0
        while [ $i -lt 30 ]; do
            if ping -c 2 -W 2 "$p" >/tmp/ping 2>&1; then
                say "ping $p ok: $(grep -c 'bytes from' /tmp/ping) replies"
                break
            fi
            i=$((i + 1))
        done
        [ $i -lt 30 ] || say "ping $p failed"
    done
    n=0
    for w in $(cat /proc/cmdline); do
        case $w in qvmechos=*) n=${w#qvmechos=} ;; esac
    done
    i=0
    while [ "$(echos)" -lt "$n" ] && [ $i -lt 60 ]; do
        sleep 1
        i=$((i + 1))
    done
    say "echo requests received: $(echos) (wanted $n)"
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

# wdtsvc: the watchdog as a service uses it (the aarch64 services case:
# Linux's sp805_wdt on qvm's `vdev wdt-sp805`, loaded at boot). Its
# identity and timeout in sysfs; busybox's watchdog daemon sets the
# timeout qvmwdt=SECS (WDIOC_SETTIMEOUT) and pets it once a second for 2.5
# timeouts; SIGTERM makes the daemon close with the magic 'V' (the driver
# stops the counter) and the guest lives 1.5 timeouts more; a second
# daemon is then killed with SIGKILL: the file is closed without the
# magic character, the driver leaves the counter running (the kernel says
# "watchdog did not stop!") and no one pets it any more: qvm must end the
# guest.
wdtsvc() {
    t=4
    for w in $(cat /proc/cmdline); do
        case $w in qvmwdt=*) t=${w#qvmwdt=} ;; esac
    done
    wait_dev /dev/watchdog0
    d=/sys/class/watchdog/watchdog0
    say "watchdog0: identity '$(cat $d/identity)' timeout $(cat $d/timeout) state $(cat $d/state)"
    watchdog -F -T "$t" -t 1 /dev/watchdog0 &
    p=$!
    wdt_active || return
    say "watchdog0 petted by the daemon: timeout $(cat $d/timeout) state $(cat $d/state)"
    sleep $((t * 5 / 2))
    say "alive after $((t * 5 / 2)) s of petting"
    kill -TERM $p
    wait $p
    say "watchdog0 after the magic close: state $(cat $d/state)"
    sleep $((t * 3 / 2))
    say "alive $((t * 3 / 2)) s after the magic close"
    watchdog -F -T "$t" -t 1 /dev/watchdog0 &
    p=$!
    wdt_active || return
    kill -KILL $p
    wait $p
    say "watchdog daemon killed: closed without the magic character, state $(cat $d/state); no more petting"
    sleep 60
    say "FAIL still alive 60 s after the last pet"
}
# wdt_active: waits until watchdog0 is active (the daemon opened it).
wdt_active() {
    i=0
    while [ "$(cat /sys/class/watchdog/watchdog0/state)" != active ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ $i -lt 100 ] || say "watchdog0 not started by the daemon"
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

# edu [ARGS]: QEMU's edu device passed through by the VMM, driven by
# edutest (edutest.c) through uio_pci_generic, whose modules
# (/lib/modules/edu, in "order") are loaded first with the command line's
# MODULE.PARAM=VALUE words; qvmedubench=N adds N benchmark rounds
# (bench/vfio.sh).
edu() {
    for m in $(cat /lib/modules/edu/order 2>/dev/null); do
        args=''
        for w in $(cat /proc/cmdline); do
            case $w in "$m".*) args="$args ${w#"$m".}" ;; esac
        done
        # shellcheck disable=SC2086 # the parameters are words
        insmod "/lib/modules/edu/$m.ko" $args || say "insmod $m failed"
    done
    n=''
    for w in $(cat /proc/cmdline); do
        case $w in qvmedubench=*) n=${w#qvmedubench=} ;; esac
    done
    if [ -n "$n" ]; then
        /bin/edutest "$@" --bench "$n"
    else
        /bin/edutest "$@"
    fi
    say "edutest exit status $?"
    grep -E 'uio' /proc/interrupts | while read -r l; do say "irq: $l"; done
}
eduhold() {
    edu --hold
}

# nvme: an NVMe controller passed through by the VMM (linux-vfio-nvme):
# Debian's nvme driver (/lib/modules/nvme, in "order") probes it; the 8 KiB
# at 1 MiB into nvme0n1 are read (their MD5: what an earlier run left),
# then an 8 KiB pattern (qvmnvme=SEED, default 1, makes it) goes there and
# back with direct I/O, the page cache dropped in between too, so both
# ways go through the device (8 KiB: busybox dd's buffers are
# page-aligned, as O_DIRECT needs, from that size); then its MSI-X
# vectors' counts from /proc/interrupts.
nvme() {
    for m in $(cat /lib/modules/nvme/order 2>/dev/null); do
        insmod "/lib/modules/nvme/$m.ko" || say "insmod $m failed"
    done
    i=0
    while [ ! -b /dev/nvme0n1 ] && [ $i -lt 300 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    [ -b /dev/nvme0n1 ] || { say "nvme: FAIL no /dev/nvme0n1"; return; }
    c=/sys/class/nvme/nvme0
    say "nvme: nvme0 model '$(cat $c/model | sed 's/ *$//')' serial '$(cat $c/serial | sed 's/ *$//')' state $(cat $c/state)"
    say "nvme: nvme0n1 sectors=$(cat /sys/block/nvme0n1/size)"
    say "nvme: nvme0 at $(readlink -f $c/device)"
    seed=1
    for w in $(cat /proc/cmdline); do
        case $w in qvmnvme=*) seed=${w#qvmnvme=} ;; esac
    done
    if ! dd if=/dev/nvme0n1 of=/tmp/before bs=8192 count=1 skip=128 iflag=direct 2>/tmp/dd.err; then
        say "nvme: FAIL read: $(head -n 1 /tmp/dd.err)"
        return
    fi
    say "nvme: at 1 MiB before: $(md5sum </tmp/before | cut -d' ' -f1)"
    # 8192 bytes: 256 lines of 32, "qvm-nvme-pattern N" (N differs in each
    # line and with the seed).
    awk -v s="$seed" 'BEGIN { for (i = 0; i < 256; i++) printf "qvm-nvme-pattern %014d\n", s * 1000003 + i * 7919 }' >/tmp/pat
    if ! dd if=/tmp/pat of=/dev/nvme0n1 bs=8192 count=1 seek=128 oflag=direct conv=fsync 2>/tmp/dd.err; then
        say "nvme: FAIL write: $(head -n 1 /tmp/dd.err)"
        return
    fi
    sync
    echo 3 >/proc/sys/vm/drop_caches
    if ! dd if=/dev/nvme0n1 of=/tmp/back bs=8192 count=1 skip=128 iflag=direct 2>/tmp/dd.err; then
        say "nvme: FAIL read: $(head -n 1 /tmp/dd.err)"
        return
    fi
    if cmp -s /tmp/pat /tmp/back; then
        say "nvme: $(wc -c </tmp/back) bytes written at 1 MiB and read back intact ($(md5sum </tmp/back | cut -d' ' -f1))"
    else
        say "nvme: FAIL what was read back at 1 MiB differs: $(head -c 64 /tmp/back | od -An -c | head -n 2 | tr -s ' ')"
    fi
    grep nvme /proc/interrupts | while read -r l; do say "irq: $l"; done
    # msi_irqs/N: msix or msi, for each of the function's vectors.
    say "nvme: vector modes: $(cat $c/device/msi_irqs/* 2>/dev/null | sort | uniq -c | tr -s ' \n' ' ')"
    for q in $(awk '$NF ~ /^nvme0q[0-9]+$/ { print $NF }' /proc/interrupts); do
        say "nvme: $q interrupts $(irqs "$q")"
    done
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
    # `shell` starts the console's shell instead, a last
    # `reboot` reboots instead (acpi=off: no ACPI power-off; reboot=k
    # resets through the 8042, which ends qvm with 0).
    end=poweroff
    for a in $(echo "$act" | tr '+' ' '); do
        case $a in
        blk | blkro | blkraw | rng | hvc | net | nets | netbench | platform | wdtpet | wdtstarve | wdtsvc | edu | eduhold | nvme) $a ;;
        reboot) end=reboot ;;
        shell) end=shell ;;
        esac
    done
    if [ $end = shell ]; then
        say "shell ready"
        exec sh </dev/console >/dev/console 2>&1
    fi
    if [ $end = reboot ]; then
        say "done, rebooting"
        reboot -f
    fi
    say "done, powering off"
    poweroff -f
    ;;
esac
