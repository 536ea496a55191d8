#!/bin/sh
# smp-qvmconf.sh: the bench_smp machine of bench/smp.sh and
# bench/smp-vs-qemu.sh, written to standard output: 256 MiB of RAM, NCPUS
# vCPUs (each pinned to L1 CPU i with PIN=1), COM1 on qvm's stdout and COM2
# for the second vCPU's exits. Both payloads carry this file and run it in L1.
#
#     sh smp-qvmconf.sh NCPUS PIN GUESTDIR >FILE
set -eu
[ $# = 3 ] || { echo "usage: smp-qvmconf.sh NCPUS PIN GUESTDIR" >&2; exit 2; }
echo "system benchsmp"
echo "ram 0,0xa0000"
echo "reserve loc 0xa0000,0x20000"
echo "rom 0xc0000,0x40000"
echo "ram 1m,255m"
i=0
while [ $i -lt "$1" ]; do
    if [ "$2" = 1 ]; then echo "cpu runmask $i"; else echo cpu; fi
    i=$((i + 1))
done
echo "load $3/bench_smp.elf"
echo "vdev ser8250"
echo "    hostdev >-"
echo "vdev ser8250"
echo "    loc 0x2f8"
echo "    intr ioapic:3"
