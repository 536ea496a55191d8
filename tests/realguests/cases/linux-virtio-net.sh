#!/bin/sh
# Two qvm instances in the same L1, joined by guest-to-guest virtio-net
# (peer /dev/qvm/SYSTEM/NAME): guest A (10.0.2.1) pings guest B (10.0.2.2),
# then B is shut down with the power button. No host network configuration.
# timeout: 240
. cases/lib.sh
export QVM_RUNTIME_DIR="$TMPDIR/run"
mkdir -p "$QVM_RUNTIME_DIR"
start linux-virtio-net-b.qvmconf
bout=$out bpid=$pid bjob=$job
start linux-virtio-net-a.qvmconf
finish
arc=$rc aout=$out
kill -TERM "$bpid" 2>/dev/null
out=$bout pid=$bpid job=$bjob
finish
[ "$arc" -eq 0 ] || fail "qvm (A) exited $arc, expected 0"
[ "$rc" -eq 0 ] || fail "qvm (B) exited $rc after SIGTERM, expected 0"
out=$aout virtio_modules
grep -q 'QVM-GUEST-INIT: eth0 02:00:00:00:02:01 10.0.2.1/24' "$aout" || fail "A has no eth0 with its MAC"
grep -q 'QVM-GUEST-INIT: eth0 02:00:00:00:02:02 10.0.2.2/24' "$bout" || fail "B has no eth0 with its MAC"
grep -q 'QVM-GUEST-INIT: ping 10.0.2.2 ok' "$aout" || fail "A could not ping B"
echo PASS
