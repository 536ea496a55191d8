#!/bin/sh
# pass-mem-io: memory and I/O port pass-through (docs/passthrough.md) in the
# IOMMU lab (tests/lab/README.md), whose L1 has QEMU's edu device:
#   - edu is unbound from vfio-pci (no driver: /dev/mem may map its BAR,
#     CONFIG_IO_STRICT_DEVMEM allows what no driver claims) and enabled;
#     the passmem guest (tests/guests/passmem.c) gets the first page of
#     BAR0 with `pass loc mem:` twice, read/write (`rwn`) and read-only
#     (`r`): it reads edu's ID through both, computes 5! through the first,
#     and a write through the read-only one is refused (the register keeps
#     120);
#   - L1's CMOS RTC index/data ports 0x70-0x71 at guest ports 0x520-0x521
#     (`pass loc io:0x520,2=0x70`): the RTC's status registers A (without
#     the update-in-progress bit) and B and the diagnostic byte the guest
#     prints equal what L1 reads through /dev/port; the port next to the
#     range reads all ones;
#   - dryrun shows the host range and its /proc/iomem owner;
#   - host RAM is refused at start with the reason (CONFIG_STRICT_DEVMEM).
# edu goes back to vfio-pci at the end (the other IOMMU cases need it).
# Skips (77) where there is no edu device (the host bed).
# lab: iommu
# timeout: 240
set -u
. cases/lib.sh
edu=$(find_pci 0x1234 0x11e8)
if [ -z "$edu" ] || [ ! -e /dev/mem ]; then
    echo "SKIP: no edu device (1234:11e8) or no /dev/mem here (the IOMMU lab has both)"
    exit 77
fi
dev=/sys/bus/pci/devices/$edu
drv=$(basename "$(readlink "$dev/driver" 2>/dev/null)" 2>/dev/null)
rebind() {
    [ "$drv" = vfio-pci ] || return 0
    echo 0 >"$dev/enable" 2>/dev/null
    [ -e "$dev/driver" ] || echo "$edu" >/sys/bus/pci/drivers/vfio-pci/bind ||
        echo "WARN: cannot bind $edu to vfio-pci again"
}
trap rebind EXIT
if [ -n "$drv" ]; then
    echo "$edu" >"$dev/driver/unbind" || fail "cannot unbind $edu from $drv"
fi
echo 1 >"$dev/enable" || fail "cannot enable $edu"
read -r bar0 _ <"$dev/resource"
bar0=$(printf '0x%x' "$bar0")
echo "edu $edu: BAR0 at $bar0 (was bound to ${drv:-no driver})"
grep -i "${bar0#0x}" /proc/iomem || :
conf=$TMPDIR/pass-mem-io.qvmconf
sed "s|@BAR0@|$bar0|g" "$CONFIGS/pass-mem-io.qvmconf" >"$conf" || fail "no config"

# dryrun: the host range, how it is mapped, its owner.
qvm_run dryrun @"$conf" dryrun
[ "$rc" = 0 ] || fail "dryrun exited $rc"
grep -q "host $bar0-0x[0-9a-f]*fff read/write, uncached" "$out" ||
    fail "dryrun does not show the host range of the read/write pass"
grep -q "host $bar0-0x[0-9a-f]*fff read-only, uncached" "$out" ||
    fail "dryrun does not show the host range of the read-only pass"
grep -q "host ports 0x70-0x71" "$out" || fail "dryrun does not show the host ports"

qvm_run passmem @"$conf"
guest_lines passmem 'passmem: ID 0x010000ed (both mappings), liveness ok' \
    'passmem: factorial 5! = 120' \
    'passmem: read-only mapping: the write was refused, the register still 120' \
    'passmem: port 0x522 outside the range reads 0xff' 'passmem: done'
grep -q "pass: mem: guest 0xd0001000-0xd0001fff = host $bar0 (read-only, uncached)" "$out" ||
    fail "qvm did not log the read-only mapping"
grep -q "pass: guest 4-byte write of 0x7 to read-only pass memory 0xd0001008 (host $(printf '0x%x' $((bar0 + 8)))" "$out" ||
    fail "qvm did not say it dropped the write to the read-only mapping"

# The RTC as L1 sees it through /dev/port (index 0x70, data 0x71).
cmos() {
    printf "\\$(printf '%03o' "$1")" | dd of=/dev/port bs=1 seek=112 count=1 2>/dev/null
    dd if=/dev/port bs=1 skip=113 count=1 2>/dev/null | od -An -tu1 | tr -d ' '
}
if [ -e /dev/port ]; then
    a=$(($(cmos 10) & 127))
    b=$(cmos 11)
    d=$(cmos 14)
    want=$(printf 'passmem: rtc A=0x%08x B=0x%08x diag=0x%08x' "$a" "$b" "$d")
    echo "L1 reads: $want"
    grep -q "^$want" "$out" || fail "the guest's RTC registers differ from L1's"
else
    grep -q '^passmem: rtc A=0x00000026 ' "$out" ||
        fail "no /dev/port to compare with, and register A is not 0x26"
fi

# Host RAM: /dev/mem refuses it; the message says why.
ram=$(grep ' : System RAM$' /proc/iomem | sed -n '2s/^ *\([0-9a-f]*\)-.*/\1/p')
if [ -n "$ram" ]; then
    ram=$(printf '0x%x' "$((0x$ram + 0x100000))")
    sed "s|$bar0|$ram|g" "$conf" >"$TMPDIR/ram.qvmconf"
    qvm_run hostram @"$TMPDIR/ram.qvmconf"
    [ "$rc" != 0 ] || fail "qvm passed host RAM to the guest"
    grep -q 'CONFIG_STRICT_DEVMEM' "$out" || fail "the refusal does not say why"
fi
echo PASS
