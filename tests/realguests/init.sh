#!/bin/busybox sh
# /init of the real-guest initramfs (tests/realguests/prepare.sh). Prints
# markers on the console that the cases check, then acts on qvmtest=ACTION
# from the kernel command line: poweroff (default), reboot, shell, wait.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "QVM-GUEST-INIT: start"
cpus=$(grep -c '^processor' /proc/cpuinfo)
mem=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)
echo "QVM-GUEST-INIT: cpus=$cpus mem_kb=$mem"
echo "QVM-GUEST-INIT: cmdline: $(cat /proc/cmdline)"
bad=$(dmesg | grep -ciE 'WARNING:|BUG:|call trace')
echo "QVM-GUEST-INIT: kernel-log-problems=$bad"
act=poweroff
for w in $(cat /proc/cmdline); do
    case $w in qvmtest=*) act=${w#qvmtest=} ;; esac
done
case $act in
reboot)
    echo "QVM-GUEST-INIT: done, rebooting"
    reboot -f
    ;;
shell)
    echo "QVM-GUEST-INIT: shell ready"
    exec sh </dev/console >/dev/console 2>&1
    ;;
wait)
    # The power button (SIGTERM to qvm) reaches us through acpid, which
    # runs the shutdown with its messages.
    # Debian builds evdev and the ACPI button driver as modules.
    insmod /lib/modules/evdev.ko
    insmod /lib/modules/button.ko
    mkdir -p /etc/acpi/PWRF
    printf '#!/bin/sh\necho "QVM-GUEST-INIT: power button, shutting down" >/dev/console\nsync\npoweroff -f\n' >/etc/acpi/PWRF/00000080
    chmod +x /etc/acpi/PWRF/00000080
    mkdir -p /var/log /var/run
    acpid >/dev/null 2>&1
    echo "QVM-GUEST-INIT: waiting"
    while :; do sleep 1; done
    ;;
*)
    echo "QVM-GUEST-INIT: done, powering off"
    poweroff -f
    ;;
esac
