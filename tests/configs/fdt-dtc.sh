#!/bin/sh
# fdt-dtc.sh QVM: the aarch64 device tree qvm writes (`set fdt-dump-file`
# with `dryrun --target-arch aarch64`: the tree the guest would get, overlays
# applied; the aarch64 lab's fdt-dryrun case shows it is byte for byte the
# running VM's), decompiled by dtc (Debian's device-tree-compiler) and
# checked by fdt_check.py against the machine `--json dryrun` describes:
# RAM, the vCPUs with PSCI, the GIC's reg, the timer's PPIs, every PL011
# and virtio-mmio reg and interrupt, /chosen (bootargs, stdout-path, the
# initrd). Two boards: the FVP layout (GICv3, 2 vCPUs, a PL011, four
# virtio-mmio devices, an initrd, an overlay) and a GICv2 one (3 vCPUs, two
# PL011s, two RAM regions). Then the check must catch a wrong tree: a
# PL011's reg, a virtio interrupt, a missing cpu node, the GIC's
# redistributors, the initrd's end, each changed in the decompiled source.
# TAP; without dtc or python3 skipped, a failure with CI=true.
set -u
qvm=$1
case $qvm in /*) ;; *) qvm=$(pwd)/$qvm ;; esac
cd "$(dirname "$0")" || exit 2
echo "1..3"
if ! command -v dtc >/dev/null || ! command -v python3 >/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "not ok 1 - dtc (device-tree-compiler) or python3 missing"
        exit 1
    fi
    for i in 1 2 3; do echo "ok $i # SKIP no dtc or python3"; done
    exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/fdt-dtc.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
initrd_size=$(wc -c <files/initrd.img)

# board NAME ARGS...: dump, decompile and check; T/NAME.dts, T/NAME.json
board() {
    name=$1
    shift
    if ! "$qvm" --target-arch aarch64 "$@" set fdt-dump-file "$T/$name.dtb" \
        dryrun >"$T/$name.out" 2>&1 ||
        ! grep -qx "FDT saved to '$T/$name.dtb'" "$T/$name.out"; then
        sed 's/^/# /' "$T/$name.out"
        return 1
    fi
    "$qvm" --json --target-arch aarch64 "$@" dryrun >"$T/$name.json" \
        2>/dev/null || return 1
    dtc -q -I dtb -O dts -o "$T/$name.dts" "$T/$name.dtb" || return 1
    python3 fdt_check.py "$T/$name.dts" "$T/$name.json" "$initrd_size" |
        sed 's/^/# /'
    python3 fdt_check.py "$T/$name.dts" "$T/$name.json" "$initrd_size" \
        >/dev/null
}

if board fvp @good/arm-virtio-mmio-fvp.qvmconf &&
    grep -q 'qnx,golden = <0x01>;' "$T/fvp.dts"; then
    echo "ok 1 - FVP board (GICv3, virtio-mmio, initrd, overlay): the tree matches"
else
    echo "not ok 1 - FVP board: the tree does not match the machine"
fi

cat >"$T/v2.qvmconf" <<CONF
system gicv2
ram 0x80000000,64M
ram 0x100000000,32M
cpu
cpu
cpu
vdev gic version 2 loc 0x2c001000 gicc 0x2c002000
load files/tiny-aarch64.elf
initrd load files/initrd.img
cmdline "console=ttyAMA0 earlycon=pl011,0x9000000"
vdev pl011 loc 0x9000000 intr gic:33
vdev pl011 loc 0x9001000 intr gic:34
vdev virtio-entropy loc 0xa000000 intr gic:48
CONF
if board v2 @"$T/v2.qvmconf"; then
    echo "ok 2 - GICv2 board (3 vCPUs, 2 PL011s, 2 RAM regions): the tree matches"
else
    echo "not ok 2 - GICv2 board: the tree does not match the machine"
fi

# The check is real: each change to the decompiled tree is caught.
missed=''
tamper() { # WHAT SED-SCRIPT
    sed "$2" "$T/fvp.dts" >"$T/bad.dts"
    cmp -s "$T/fvp.dts" "$T/bad.dts" && missed="$missed [$1: sed did nothing]"
    python3 fdt_check.py "$T/bad.dts" "$T/fvp.json" "$initrd_size" \
        >/dev/null && missed="$missed [$1]"
}
tamper "pl011 reg" 's/reg = <0x00 0x1c090000 0x00 0x1000>/reg = <0x00 0x1c091000 0x00 0x1000>/'
tamper "virtio interrupt" 's/interrupts = <0x00 0x09 0x04>/interrupts = <0x00 0x0a 0x04>/'
tamper "cpu node" '/cpu@1 {/,/};/d'
tamper "GIC redistributors" 's/0x00 0x2f100000 0x00 0x40000/0x00 0x2f100000 0x00 0x20000/'
tamper "initrd end" '/linux,initrd-end/s/0x[0-9a-f]*>/0x1>/'
tamper "timer PPI" 's/0x01 0x0b 0x04/0x01 0x0c 0x04/'
tamper "psci method" 's/method = "hvc"/method = "smc"/'
if [ -z "$missed" ]; then
    echo "ok 3 - a wrong reg, interrupt, cpu, GIC window, initrd, PPI or PSCI method is caught"
else
    echo "not ok 3 - the check missed:$missed"
fi
