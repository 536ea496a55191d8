#!/bin/sh
# smp: PSCI CPU_ON of a second vCPU (tests/guests/arm64/smp.c, two `cpu`
# lines). vCPU 0 takes the second CPU's MPIDR from the device tree's
# cpu@1, sees AFFINITY_INFO say off and CPU_ON of an MPIDR no vCPU has
# refused (-2), starts it (CPU_ON: 0): it comes up at EL1 with D, A, I, F
# masked and x0 = the context id, prints its MPIDR_EL1 (the PL011 shared
# under a lock), finds its own redistributor (the second frame, marked
# Last; vCPU 0's is the first, not Last) and takes 3 virtual-timer PPIs
# through it, then the SP805's SPI, which it routes to itself
# (GICD_IROUTER; vCPU 0 could not take it), and SGI 3 from vCPU 0
# (ICC_SGI1R_EL1). The device tree's GIC has a redistributor frame per
# vCPU. While it runs AFFINITY_INFO says on and CPU_ON again returns
# ALREADY_ON (-4); it calls CPU_OFF and AFFINITY_INFO says off. A second
# round with another context id brings it back. SYSTEM_OFF: exit 0.
set -u
. cases/lib.sh
qvm_run smp @"$CONFIGS/smp.qvmconf"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
tr -d '\r' <"$out" >"$TMPDIR/smp.txt"
o=$TMPDIR/smp.txt
grep -q 'smp: FAIL' "$o" && fail "the guest reported a failure"
has() {
    [ "$(grep -c -x -F -- "$1" "$o")" -eq "${2:-1}" ] ||
        fail "not ${2:-1} time(s): $1"
}
has 'smp: vCPU 0 MPIDR_EL1 0x0000000000000000, device tree: 2 cpus, the second 0x0000000000000001, virtual timer INTID 27'
has 'smp: device tree: GIC distributor 0x000000002f000000, redistributors 0x000000002f100000 size 0x0000000000040000'
has 'smp: vCPU 0: redistributor 0 (not last)'
has 'smp: AFFINITY_INFO (before CPU_ON) 1'
has 'smp: CPU_ON of MPIDR 0x7f -2'
has 'smp: CPU_ON 0' 2
for c in 1 2; do
    has "smp: vCPU up at EL1: MPIDR_EL1 0x0000000000000001, x0 0x000000005eca000$c, DAIF 0x00000000000003c0"
    has "smp: vCPU 0x0000000000000001: redistributor 1 (last), $((3 * c)) timer interrupts at INTID 27, $c sp805 interrupts at INTID 64, $c SGIs 3 from vCPU 0"
done
has 'smp: the vCPU is up, MPIDR 0x0000000000000001' 2
has 'smp: AFFINITY_INFO (on) 0' 2
has 'smp: CPU_ON again -4' 2
has 'smp: AFFINITY_INFO (after CPU_OFF) 1' 2
has 'smp: done, timer interrupts on the second vCPU: 0x0000000000000006'
grep -q 'expired' "$o" && fail "the SP805 expired a second time"
grep -q 'guest powered off' "$o" || fail "no power-off line"
echo PASS
