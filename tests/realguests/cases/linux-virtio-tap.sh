#!/bin/sh
# virtio-net on a tap interface of L1 (peer /dev/vdevpeers/qvmtap0): L1
# (tun.ko from the same kernel, busybox tunctl and ip) has 10.0.3.1 on the
# tap; the guest (10.0.3.2) pings it.
# timeout: 150
. cases/lib.sh
[ -c /dev/net/tun ] || insmod "$GUESTS/virtio/l1/tun.ko" || fail "cannot load tun.ko in L1"
i=0
while [ ! -c /dev/net/tun ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
tunctl -t qvmtap0 >/dev/null || fail "cannot create the tap interface qvmtap0"
ip addr add 10.0.3.1/24 dev qvmtap0 || fail "cannot give qvmtap0 an address"
ip link set qvmtap0 up || fail "cannot bring qvmtap0 up"
boot linux-virtio-tap.qvmconf
ip link show qvmtap0
tunctl -d qvmtap0 >/dev/null
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
virtio_modules
grep -q 'QVM-GUEST-INIT: ping 10.0.3.1 ok' "$out" || fail "the guest could not ping L1 through the tap"
echo PASS
