#!/bin/sh
# services: the `set` variables and per-vdev options issue 15 made work.
# 1. The spin guest (rdtsc, then cli; hlt) with `set counter-offset
#    0xc000000000000000` (host minus guest: the guest's counter is the
#    host's + 2^62) and `set exit-on-halt off` (KVM_CAP_X86_DISABLE_EXITS
#    HLT): its counter's high word is >= 0x40000000; SIGUSR1's report says
#    HLT stays in the guest and lists every device with its state, but not
#    the pckeyboard configured with `set debug off`. KVM without either
#    feature must say so in a warning instead.
# 2. The virtio_blk guest with `vdev virtio-blk sched 10 name disk0 log
#    debug stderr`: the disk's worker runs SCHED_RR 10 (or a warning says
#    the host refused), reported by a debug line that only the vdev's own
#    `log` route lets through (qvm's other debug lines stay off).
# timeout: 150
set -u
. cases/virtio-lib

qvm_start services @"$CONFIGS/spin.qvmconf" set exit-on-halt off \
    set counter-offset 0xc000000000000000 \
    vdev pckeyboard set debug off \
    vdev mc146818 name rtc0 \
    vdev virtio-entropy name rng0
wait_for 'spin: halting forever'
line=$(grep 'spin: tsc ' "$out" | tr -d '\r')
hi=${line#spin: tsc 0x}
hi=${hi%% *}
if grep -q 'cannot offset the guest' "$out"; then
    echo "note: this KVM has no KVM_VCPU_TSC_OFFSET (warned)"
elif [ $((0x$hi)) -lt $((0x40000000)) ]; then
    fail "counter-offset: the guest's TSC is $line, its high word should be >= 0x40000000"
fi
kill -USR1 "$pid"
wait_for 'status: 1 device(s) left out'
if ! grep -q 'HLT stays in the guest (exit-on-halt off)' "$out"; then
    grep -q 'cannot let the guest halt in hardware' "$out" ||
        fail "exit-on-halt off: neither in force nor warned about"
fi
grep -q "status: device mc146818 'rtc0' (" "$out" || fail "no RTC in the report"
grep -q "status: device virtio-entropy 'rng0' (.*1.x, status 0x00 reset" "$out" ||
    fail "no virtio-entropy state in the report"
grep -q 'status: device ser8250 (' "$out" || fail "no UART in the report"
! grep -q 'status: device pckeyboard' "$out" ||
    fail "set debug off: the keyboard is in the report"
kill -QUIT "$pid"
qvm_wait 3

img="$TMPDIR/disk.img"
mkimg "$img" 2048
o="$TMPDIR/blk.out"
runqvm "$o" @"$CONFIGS/virtio-blk.qvmconf" cmdline "wsec=5" \
    vdev virtio-blk hostdev "$img" sched 10 name disk0 log debug stderr
guest_ok "$o" virtio-blk
if ! grep -q 'qvm: debug: virtio-blk: disk0 queue 0 worker: runs SCHED_RR priority 10' "$o"; then
    has "$o" 'qvm: warn: virtio-blk: disk0 queue 0 worker: the host refused SCHED_RR priority 10'
fi
hasnt "$o" 'qvm: debug: vm:'
echo "PASS"
