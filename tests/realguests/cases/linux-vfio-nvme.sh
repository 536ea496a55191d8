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
# Skips (77) where there is no NVMe controller bound to vfio-pci.
# lab: iommu
# timeout: 420
. cases/lib.sh
vfio_device 0x1b36 0x0010 "NVMe controller"
boot linux-vfio-nvme.qvmconf
[ "$rc" = 0 ] || fail "qvm exited $rc"
grep -q 'forbidden system call' "$out" && fail "seccomp: $(grep 'forbidden' "$out")"
grep -q 'nvme: FAIL' "$out" && fail "the guest failed: $(grep 'nvme: FAIL' "$out")"
markers 1 200000
grep -q 'vfio-pci: pass 00:..\.0 = host 0000:.* (1b36:0010), IOMMU group [0-9]*, INTx ' "$out" ||
    fail "qvm did not pass the NVMe controller"
# The shared-BAR MSI-X path (vfio_pci.c): table and PBA emulated in BAR0,
# its other pages mapped into the guest.
grep -q 'vfio-pci: pass 00:..\.0: MSI-X: [0-9]* vectors, table and PBA in BAR0 (shared with registers)$' "$out" ||
    fail "qvm did not see MSI-X in BAR0 shared with the registers"
grep -q 'vfio-pci: pass 00:..\.0: BAR0 (0x[0-9a-f]* bytes): MSI-X table and PBA emulated, 0x[0-9a-f]* bytes in [1-9] parts mapped into the guest, the rest trapped$' "$out" ||
    fail "qvm did not map BAR0's register pages into the guest"
# The registers and doorbells the driver uses are in the mapped part: none
# of its accesses exits to qvm (the table's and PBA's are the model's and
# not counted here).
grep -q 'vfio-pci: pass 00:..\.0: 0 guest BAR accesses trapped$' "$out" ||
    fail "guest BAR accesses were trapped: $(grep 'guest BAR accesses trapped' "$out")"
# the lab's image: 8 MiB, 512-byte blocks; the pattern's MD5 (init.sh)
for l in "nvme: nvme0 model '[^']*' serial 'qvm1' state live" \
    'nvme: nvme0n1 sectors=16384' \
    'nvme: 8192 bytes written at 1 MiB and read back intact (26d6715d1b444ccb66817607649421bb)' \
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
echo "nvme0q0: $n0 interrupts; I/O queue vectors with interrupts: $nio"
echo PASS
