#!/bin/sh
# services: the `set` variables and per-vdev options issue 15 made work.
# 1. The spin guest (rdtsc, then cli; hlt) with `set counter-offset
#    0xc000000000000000` (host minus guest: the guest's counter is the
#    host's + 2^62) and `set exit-on-halt off` (KVM_CAP_X86_DISABLE_EXITS
#    HLT): its counter's high word is >= 0x40000000; SIGUSR1's report says
#    HLT stays in the guest and lists every device with its state, but not
#    the pckeyboard configured with `set debug off`. KVM without either
#    feature must say so in a warning instead.
#    A second vCPU `cpu runmask 0 sched 7f`: its thread (qvm-vcpu1) may
#    run on host CPU 0 only, as SCHED_FIFO 7 (/proc).
# 2. The virtio_blk guest with `vdev virtio-blk sched 10 name disk0 log
#    debug stderr`: the disk's worker (qvm-blk-q0) runs SCHED_RR 10 in
#    /proc while the guest holds, reported by a debug line that only the
#    vdev's own `log` route lets through (qvm's other debug lines stay
#    off). A host that refuses real-time priorities must warn instead.
# timeout: 150
set -u
. cases/virtio-lib

qvm_start services @"$CONFIGS/spin.qvmconf" set exit-on-halt off \
    set counter-offset 0xc000000000000000 \
    vdev pckeyboard set debug off \
    vdev mc146818 name rtc0 \
    vdev virtio-entropy name rng0 \
    cpu runmask 0 sched 7f
wait_for 'spin: halting forever'
t=$(thread_of qvm-vcpu1) || fail "no thread qvm-vcpu1"
grep -q '^Cpus_allowed_list:[[:space:]]*0$' "$t/status" ||
    fail "cpu runmask 0: $(grep Cpus_allowed_list "$t/status")"
if grep -q 'vCPU 1: the host refused SCHED_FIFO' "$out"; then
    echo "note: real-time priorities refused here (warned)"
else
    [ "$(sched_of "$t")" = "1 7" ] || fail "cpu sched 7f: policy/priority $(sched_of "$t")"
fi
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
echo "qvm-vcpu1: $(grep Cpus_allowed_list "$t/status"), policy/priority $(sched_of "$t")"
kill -QUIT "$pid"
qvm_wait 3
tr -d '\r' <"$out"

img="$TMPDIR/disk.img"
mkimg "$img" 2048
qvm_start blk @"$CONFIGS/virtio-blk.qvmconf" cmdline "wsec=40 hold" \
    vdev virtio-blk hostdev "$img" sched 10 name disk0 log debug stderr
wait_for 'holding after the flush'
t=$(thread_of qvm-blk-q0) || fail "no thread qvm-blk-q0"
if grep -q 'qvm: debug: virtio-blk: disk0 queue 0 worker: runs SCHED_RR priority 10' "$out"; then
    [ "$(sched_of "$t")" = "2 10" ] || fail "sched 10: the worker runs $(sched_of "$t")"
else
    grep -q 'qvm: warn: virtio-blk: disk0 queue 0 worker: the host refused SCHED_RR priority 10' "$out" ||
        fail "virtio-blk sched 10: neither applied nor warned about"
fi
! grep -q 'qvm: debug: vm:' "$out" || fail "log debug on virtio-blk enabled other debug lines"
echo "qvm-blk-q0: policy/priority $(sched_of "$t")"
kill -QUIT "$pid"
qvm_wait 3
grep 'qvm: \(debug\|warn\)' "$out"
echo "PASS"
