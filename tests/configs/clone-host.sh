#!/bin/sh
# clone-host.sh QVM: `vdev pci-dummy clone pci:B:D.F` of a real host PCI
# function (one in /sys/bus/pci/devices on domain 0, with subsystem IDs if any) gives exactly the
# vendor, device, class, revision and subsystem IDs sysfs shows; a function
# that does not exist is a configuration error (exit 65) naming the
# location. Skipped on a host without PCI functions.
set -u
qvm=$1
case $qvm in /*) ;; *) qvm=$(pwd)/$qvm ;; esac
cd "$(dirname "$0")" || exit 2
unset QVM_SYSFS_ROOT
echo "1..2"
dev=
for d in /sys/bus/pci/devices/0000:*; do
    [ -r "$d/vendor" ] || continue
    [ -z "$dev" ] && dev=$d
    # prefer a function with subsystem IDs (more fields to compare)
    [ "$(cat "$d/subsystem_vendor")" != 0x0000 ] && dev=$d && break
done
if [ -z "$dev" ]; then
    echo "ok 1 # SKIP no PCI function in /sys/bus/pci/devices"
    echo "ok 2 # SKIP no PCI function in /sys/bus/pci/devices"
    exit 0
fi
bdf=${dev##*/0000:}      # BB:DD.F, hexadecimal
bus=$((0x${bdf%%:*}))
slot=${bdf#*:}
devn=$((0x${slot%%.*}))
fn=${slot#*.}
h() { # FILE WIDTH: the sysfs value as WIDTH lower-case hex digits
    printf "%0${2}x" "$(($(cat "$dev/$1")))"
}
class=$(h class 6)
want="pci $(h vendor 4):$(h device 4) class ${class%??} prog-if ${class#????} rev $(h revision 2) subsystem $(h subsystem_vendor 4):$(h subsystem_device 4) (cloned)"
got=$("$qvm" ram 64M load files/tiny.elf vdev pci-dummy clone "pci:$bus:$devn.$fn" dryrun 2>&1 | sed -n 's/^      \(pci .*\)$/\1/p')
if [ "$got" = "$want" ]; then
    echo "ok 1 - clone pci:$bus:$devn.$fn ($dev): $got"
else
    echo "not ok 1 - clone pci:$bus:$devn.$fn ($dev)"
    echo "# want: $want"
    echo "# got:  $got"
fi
# a function number no host has on device 31 of bus 255
out=$("$qvm" ram 64M load files/tiny.elf vdev pci-dummy clone pci:255:31.7 dryrun 2>&1)
st=$?
if [ "$st" -eq 65 ] && echo "$out" | grep -q "<command line>:1:8: error: 'clone pci:255:31.7': the host has no PCI function ff:1f.7"; then
    echo "ok 2 - a missing host function is a configuration error (65)"
else
    echo "not ok 2 - a missing host function: status $st"
    echo "$out" | sed 's/^/# /'
fi
