#!/bin/sh
# options: options of every architecture at work on an aarch64 guest
# (tests/unit/option-tests-aarch64.txt), with the pwrbtn guest (waits for
# qvm's power key):
# - `rom 0x10000000,64k`: mapped read-only beside RAM, the VM starts;
# - a second vCPU `cpu runmask 0 sched 7f` (powered off until a PSCI
#   CPU_ON): its thread qvm-vcpu1 may run on host CPU 0 only, as
#   SCHED_FIFO 7 (/proc), or the host's refusal is warned about;
# - `set debug off` after the PL011: SIGUSR1's report leaves it out (and
#   says so), lists the power button's PL061, and says WFI is KVM's;
# - `set exit-on-halt off` and `unsupported instruction ignore` warn that
#   they do nothing on aarch64; SIGTERM still powers the guest off: 0.
# timeout: 240
set -u
. cases/lib.sh

# The guest's lines in $out, qvm's in $err: SIGTERM's log line is written
# while the guest prints "pwrbtn: power key pressed".
QVM_ERR_APART=1
qvm_start options system arm64-options ram 0x80000000,16m \
    rom 0x10000000,64k \
    cpu cpu runmask 0 sched 7f \
    load 0x80000000,guests/arm64/pwrbtn.bin \
    set exit-on-halt off unsupported instruction ignore \
    vdev gic \
    vdev pl011 loc 0x1c090000 intr gic:37 hostdev '>-' set debug off
wait_for 'pwrbtn: ready'
grep -q "warning: set 'exit-on-halt' has no effect on aarch64 guests" "$err" ||
    fail "set exit-on-halt: no aarch64 warning"
grep -q "warning: 'unsupported instruction' has no effect on aarch64 guests" "$err" ||
    fail "unsupported instruction: no aarch64 warning"
t=$(thread_of qvm-vcpu1) || fail "no thread qvm-vcpu1"
grep -q '^Cpus_allowed_list:[[:space:]]*0$' "$t/status" ||
    fail "cpu runmask 0: $(grep Cpus_allowed_list "$t/status")"
if grep -q 'vCPU 1: the host refused SCHED_FIFO' "$err"; then
    echo "note: real-time priorities refused here (warned)"
else
    [ "$(sched_of "$t")" = "1 7" ] || fail "cpu sched 7f: policy/priority $(sched_of "$t")"
fi
echo "qvm-vcpu1: $(grep Cpus_allowed_list "$t/status"), policy/priority $(sched_of "$t")"
kill -USR1 "$pid"
wait_for_in "$err" 'status: 1 device(s) left out'
wait_for_in "$err" 'gpio-power'
grep -q 'status: system arm64-options.*WFI as KVM decides' "$err" ||
    fail "the status line does not say WFI is KVM's"
! grep -q 'status: device pl011' "$err" ||
    fail "set debug off: the PL011 is in the report"
kill -TERM "$pid"
wait_for 'pwrbtn: power key pressed'
qvm_wait 0
cat "$out" "$err"
grep -q 'pwrbtn: FAIL' "$out" && fail "the guest reported a failure"
grep -q 'guest powered off' "$err" || fail "no power-off line"
