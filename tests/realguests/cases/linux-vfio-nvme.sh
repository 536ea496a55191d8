#!/bin/sh
# Debian's Linux drives QEMU's NVMe controller that qvm passes through with
# VFIO (`pass loc pci:0x1b36/0x0010`, docs/passthrough.md) in the IOMMU lab
# (tests/lab/README.md): the controller's MSI-X table and PBA share BAR0
# with its registers and doorbells, so qvm emulates the table and PBA and
# maps the rest of the BAR into the guest. /init's nvme
# (tests/realguests/init.sh) loads Debian's nvme driver, which probes the
# controller (admin queue, identify, an I/O queue, all on MSI-X);
# /dev/nvme0n1 appears; 8 KiB written at 1 MiB with direct I/O, the page
# cache dropped, read back with direct I/O intact; the admin queue's
# vector (nvme0q0) and an I/O queue's counted interrupts; powers off: 0.
# Twice: with KVM's irqfds (the vectors go from VFIO to KVM, qvm relays
# none; BAR0's register pages mapped into the guest, no access trapped),
# then without (QVM_KVM_FAST=ioeventfd: qvm's I/O thread relays each
# vector through the MSI-X model; INTx is then qvm's without an EOI hook,
# so the whole BAR is trapped: the registers' accesses forwarded to the
# device around the emulated table and PBA), where the guest first reads
# back what the first run wrote (the lab's image is new for each L1 boot:
# zeros before the first run).
# Skips (77) where there is no NVMe controller bound to vfio-pci.
# lab: iommu
# timeout: 600
. cases/lib.sh
vfio_device 0x1b36 0x0010 "NVMe controller"
# MD5s of 8 KiB of zeros and of init.sh's patterns for qvmnvme=1 and 2.
zeros=0829f71740aab1ab98b33eae21dee122
pat1=ce02d6dcc5d5023fe88d8c70c8e1bf88
pat2=8d9a231c8ff55df736205f9c57ae40ba
# check BEFORE AFTER mapped|trapped: the run's checks; the 8 KiB at 1 MiB
# had the MD5 BEFORE and were written and read back as AFTER; BAR0's
# register pages mapped into the guest or trapped.
check() {
    [ "$rc" = 0 ] || fail "qvm exited $rc"
    grep -q 'forbidden system call' "$out" && fail "seccomp: $(grep 'forbidden' "$out")"
    grep -q 'nvme: FAIL' "$out" && fail "the guest failed: $(grep 'nvme: FAIL' "$out")"
    markers 1 200000
    grep -q 'vfio-pci: pass 00:..\.0 = host 0000:.* (1b36:0010), IOMMU group [0-9]*, INTx ' "$out" ||
        fail "qvm did not pass the NVMe controller"
    # The shared-BAR MSI-X path (vfio_pci.c): table and PBA emulated in
    # BAR0, its other pages mapped into the guest.
    grep -q 'vfio-pci: pass 00:..\.0: MSI-X: [0-9]* vectors, table and PBA in BAR0 (shared with registers)$' "$out" ||
        fail "qvm did not see MSI-X in BAR0 shared with the registers"
    trapped=$(sed -n 's/.*vfio-pci: pass ..:..\..: \([0-9]*\) guest BAR accesses trapped$/\1/p' "$out")
    if [ "$3" = mapped ]; then
        grep -q 'vfio-pci: pass 00:..\.0: BAR0 (0x[0-9a-f]* bytes): MSI-X table and PBA emulated, 0x[0-9a-f]* bytes in [1-9] parts mapped into the guest, the rest trapped$' "$out" ||
            fail "qvm did not map BAR0's register pages into the guest"
        # The registers and doorbells the driver uses are in the mapped
        # part: none of its accesses exits to qvm (the table's and PBA's
        # are the model's and not counted here).
        [ "$trapped" = 0 ] || fail "guest BAR accesses were trapped: '$trapped'"
    else
        # INTx by qvm without an EOI hook: the whole BAR trapped, the
        # registers' and doorbells' accesses forwarded to the device.
        grep -q 'vfio-pci: pass 00:..\.0: BAR0 (0x[0-9a-f]* bytes) trapped (INTx by qvm needs the guest.s BAR accesses), MSI-X table and PBA emulated$' "$out" ||
            fail "qvm did not trap BAR0 with the table and PBA emulated"
        [ -n "$trapped" ] && [ "$trapped" -ge 1 ] || fail "no guest BAR access trapped: '$trapped'"
    fi
    # the lab's image: 8 MiB, 512-byte blocks
    for l in "nvme: nvme0 model '[^']*' serial 'qvm1' state live" \
        'nvme: nvme0n1 sectors=16384' \
        "nvme: at 1 MiB before: $1" \
        "nvme: 8192 bytes written at 1 MiB and read back intact ($2)" \
        'done, powering off'; do
        grep -q "QVM-GUEST-INIT: $l" "$out" || fail "no line '$l'"
    done
    # MSI-X vectors with interrupts: the admin queue's and at least one I/O
    # queue's (Linux names them nvme0qN; PCI-MSI in Linux 6.1's
    # /proc/interrupts for MSI and MSI-X alike: sysfs's msi_irqs tells).
    grep -q 'QVM-GUEST-INIT: irq: .*PCI-MSI.* nvme0q0' "$out" ||
        fail "nvme0q0 is not a message-signalled vector"
    grep -q 'QVM-GUEST-INIT: nvme: vector modes: *[1-9][0-9]* msix' "$out" ||
        fail "the controller's vectors are not all MSI-X: $(grep 'nvme: vector modes' "$out")"
    # (The guest's lines end in CR LF: no $ anchors on them.)
    n0=$(sed -n 's/.*QVM-GUEST-INIT: nvme: nvme0q0 interrupts \([0-9]*\).*/\1/p' "$out")
    [ "${n0:-0}" -gt 0 ] || fail "no interrupt on the admin queue's vector (nvme0q0: ${n0:-none})"
    nio=$(sed -n 's/.*QVM-GUEST-INIT: nvme: nvme0q[1-9][0-9]* interrupts \([0-9]*\).*/\1/p' "$out" |
        awk '$1 > 0 { n++ } END { print n + 0 }')
    [ "$nio" -ge 1 ] || fail "no I/O queue's vector had an interrupt"
    relayed=$(sed -n 's/.*vfio-pci: pass ..:..\..: \([0-9]*\) MSI-X interrupts relayed by qvm$/\1/p' "$out")
    echo "nvme0q0: $n0 interrupts; I/O queue vectors with interrupts: $nio; BAR accesses trapped: $trapped; relayed by qvm: $relayed"
}
boot linux-vfio-nvme.qvmconf
check $zeros $pat1 mapped
[ "$relayed" = 0 ] || fail "MSI-X interrupts relayed by qvm with irqfds: '$relayed' (expected 0)"
echo "with irqfds: the checks pass"
# (a configuration's cmdline replaces the earlier one: a copy with the seed)
sed 's/qvmtest=nvme/qvmtest=nvme qvmnvme=2/' "$CONFIGS/linux-vfio-nvme.qvmconf" >"$TMPDIR/linux-vfio-nvme-2.qvmconf"
grep -q 'qvmnvme=2' "$TMPDIR/linux-vfio-nvme-2.qvmconf" || fail "no seed in the second configuration"
cfgs=$CONFIGS
CONFIGS=$TMPDIR
QVM_KVM_FAST=ioeventfd
export QVM_KVM_FAST
boot linux-vfio-nvme-2.qvmconf
unset QVM_KVM_FAST
CONFIGS=$cfgs
check $pat1 $pat2 trapped
[ -n "$relayed" ] && [ "$relayed" -ge 1 ] ||
    fail "no MSI-X interrupt relayed by qvm without irqfds: '$relayed'"
echo "without irqfds: the checks pass, the first run's data read back"
echo PASS
