#!/bin/busybox sh
# shellcheck shell=dash disable=SC2013
# /init of the benchmark's Linux guest (bench/linux-guests.sh, issue 7
# items 5 and 6). Its first action prints the init marker "@@LINIT" on the
# console, then it acts on qvmbench=boot|blk from the kernel command line:
#   boot  power off at once (item 5: start to init, start to exit)
#   blk   load Debian's virtio modules, then read the first 256 MiB of
#         /dev/vda and write 256 MiB of zeros to it with 1 MiB direct
#         requests (busybox dd iflag=direct / oflag=direct conv=fsync),
#         each between two markers that the host times: "@@BLK-R0" ..
#         "@@BLK-R1", "@@BLK-W0" .. "@@BLK-W1", each followed by the
#         guest's own view: "@@BLK-RS T0 T1 <dd's last line>" (-WS), T0 and
#         T1 the guest's /proc/uptime around dd (Debian's busybox dd
#         prints no rate); then power off.
#         "@@BLK-FAIL <why>" when something goes wrong.
# Power-off is "poweroff -f": ACPI S5 (PM1a on qvm, the GED sleep
# registers on QEMU microvm).
/bin/busybox echo "@@LINIT"
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mode=boot
for w in $(cat /proc/cmdline); do
    case $w in qvmbench=*) mode=${w#qvmbench=} ;; esac
done
if [ "$mode" = blk ]; then
    mount -t sysfs sys /sys
    mount -t devtmpfs dev /dev
    for m in $(cat /lib/modules/virtio/order); do
        insmod "/lib/modules/virtio/$m.ko" 2>/dev/null ||
            echo "@@BLK-FAIL insmod $m"
    done
    i=0
    while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if [ -b /dev/vda ]; then
        echo "@@BLK-DEV $(cat /sys/block/vda/size) sectors at $(readlink -f /sys/block/vda)" \
            "max_sectors_kb=$(cat /sys/block/vda/queue/max_sectors_kb)" \
            "max_segments=$(cat /sys/block/vda/queue/max_segments)"
        echo "@@BLK-R0"
        read -r t0 _ </proc/uptime
        dd if=/dev/vda of=/dev/null bs=1M count=256 iflag=direct 2>/tmp/r ||
            echo "@@BLK-FAIL read: $(tail -n 1 /tmp/r)"
        read -r t1 _ </proc/uptime
        echo "@@BLK-R1"
        echo "@@BLK-RS $t0 $t1 $(tail -n 1 /tmp/r)"
        echo "@@BLK-W0"
        read -r t0 _ </proc/uptime
        dd if=/dev/zero of=/dev/vda bs=1M count=256 oflag=direct conv=fsync \
            2>/tmp/w || echo "@@BLK-FAIL write: $(tail -n 1 /tmp/w)"
        read -r t1 _ </proc/uptime
        echo "@@BLK-W1"
        echo "@@BLK-WS $t0 $t1 $(tail -n 1 /tmp/w)"
    else
        echo "@@BLK-FAIL no /dev/vda"
    fi
fi
poweroff -f
