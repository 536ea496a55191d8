#!/bin/sh
# QNX's linux-aarch64-virtio.qvmconf platform (tests/vm/configs-arm64/
# linux-aarch64-virtio-{a,b}.qvmconf: its addresses and interrupts, vGICv3)
# with Debian's arm64 kernel and a busybox initramfs (prepare-arm64.sh):
# two qvm in this L1, A with 1 vCPU and B with 2, each with
#   - the PL011 at 0x1c090000 (gic:37) as the console, both ways: a command
#     typed on qvm's standard input runs in the guest's shell, whose
#     `poweroff -f` ends qvm with 0 (PSCI SYSTEM_OFF);
#   - virtio-blk (0x1c0d0000, gic:41) on a raw image of this case: the
#     guest reads the line written here and writes one that is read back
#     here;
#   - virtio-net guest_to_host (0x1c0c0000, gic:40) on a tap of L1 (vp1 for
#     A, vp2 for B) and guest_to_guest (0x20040000, gic:43) between A and
#     B (`peer /dev/qvm/SYSTEM/guest_to_guest`): pings both ways on both;
#   - virtio-entropy (/dev/hwrng is virtio_rng) and virtio-console (hvc0,
#     its output in a file of this case).
# All of it on virtio-mmio: level-triggered SPIs through the vGICv3, the
# device tree's virtio,mmio nodes, the modules Debian builds for it.
# timeout: 600
. cases/lib.sh
[ -c /dev/net/tun ] || insmod "$GUESTS/l1/tun.ko" || fail "cannot load tun.ko in L1"
i=0
while [ ! -c /dev/net/tun ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
for t in vp1:10.0.3.1 vp2:10.0.4.1; do
    tunctl -t "${t%:*}" >/dev/null || fail "cannot create the tap ${t%:*}"
    ip addr add "${t#*:}/24" dev "${t%:*}" || fail "cannot address ${t%:*}"
    ip link set "${t%:*}" up || fail "cannot bring ${t%:*} up"
done
export QVM_RUNTIME_DIR="$TMPDIR/run"
mkdir -p "$QVM_RUNTIME_DIR"
# The configurations' relative paths: guests/ and the case's files.
ln -s "$GUESTS" "$TMPDIR/guests"
cd "$TMPDIR" || fail "no TMPDIR"
for e in a b; do
    echo "qvm-disk-$e-from-the-host" >"fs-$e.img"
    dd if=/dev/zero of="fs-$e.img" bs=1M seek=4 count=0 2>/dev/null
    mkfifo "in-$e"
done
exec 3<>in-a 4<>in-b
stdin=$TMPDIR/in-b
start linux-aarch64-virtio-b.qvmconf
bout=$out bpid=$pid bjob=$job
stdin=$TMPDIR/in-a
start linux-aarch64-virtio-a.qvmconf
aout=$out apid=$pid ajob=$job
# wait_both MARKER_A MARKER_B SECS
wait_both() {
    out=$aout pid=$apid
    wait_for "$1" "$3" || return 1
    out=$bout pid=$bpid
    wait_for "$2" "$3"
}
cut_power() {
    kill -QUIT "$apid" "$bpid" 2>/dev/null
    fail "$*"
}
# L1 pings each guest on its tap once its interface is up.
wait_both 'QVM-GUEST-INIT: net .* 10.0.3.2/24' 'QVM-GUEST-INIT: net .* 10.0.4.2/24' 600 ||
    cut_power "the guests' guest_to_host interfaces did not come up"
for g in 10.0.3.2 10.0.4.2; do
    i=0
    until ping -c 1 -W 2 $g >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 30 ] || cut_power "L1 cannot ping $g"
    done
    echo "L1 pinged $g"
done
wait_both 'QVM-GUEST-INIT: shell ready' 'QVM-GUEST-INIT: shell ready' 300 ||
    cut_power "no shell on the PL011"
echo 'echo "answer-$((6 * 7))-$(grep -c ^processor /proc/cpuinfo)"' >&3
echo 'echo "answer-$((6 * 7))-$(grep -c ^processor /proc/cpuinfo)"' >&4
wait_both 'answer-42-1' 'answer-42-2' 60 || cut_power "no answer from the shells"
echo 'poweroff -f' >&3
echo 'poweroff -f' >&4
out=$aout pid=$apid job=$ajob
finish
arc=$rc
out=$bout pid=$bpid job=$bjob
finish
brc=$rc
exec 3>&- 4>&-
for t in vp1 vp2; do tunctl -d $t >/dev/null; done
[ "$arc" -eq 0 ] || fail "qvm (A) exited $arc, expected 0"
[ "$brc" -eq 0 ] || fail "qvm (B) exited $brc, expected 0"
for e in a b; do
    [ $e = a ] && out=$aout cpus=1 tap=10.0.3.1 other=10.0.2.2
    [ $e = b ] && out=$bout cpus=2 tap=10.0.4.1 other=10.0.2.1
    tr -d '\r' <"$out" >"$out.txt"
    out=$out.txt
    grep -q 'Machine model: qvm' "$out" || fail "$e: the kernel did not take qvm's device tree"
    grep -q "QVM-GUEST-INIT: cpus=$cpus " "$out" || fail "$e: expected $cpus CPU(s)"
    grep -q 'ttyAMA0 at MMIO 0x1c090000 (irq = [0-9]*, base_baud = 0) is a PL011' "$out" ||
        fail "$e: no PL011 at 0x1c090000"
    virtio_modules
    # No kernel warning, bug or oops (not init's kernel-log-problems: the
    # command line's ignore_loglevel prints "printk: debug:", which it
    # counts). A soft lockup report is no failure: in the lab's emulated L1
    # (one CPU for both guests) one early-boot work item (tracefs's event
    # directories) can run for 20 s and more on A's only vCPU.
    grep -E 'WARNING:|BUG:|Oops|Unable to handle kernel' "$out" |
        grep -v 'BUG: soft lockup' >"$TMPDIR/klog-$e"
    [ ! -s "$TMPDIR/klog-$e" ] || fail "$e: $(head -n 1 "$TMPDIR/klog-$e")"
    # Every virtio-mmio device's SPI, level-triggered through the vGICv3.
    for spi in 40 41 42 43 44; do
        grep -Eq "QVM-GUEST-INIT: irq: .* GICv3 +$spi +Level +virtio[0-9]" "$out" ||
            fail "$e: no level-triggered virtio interrupt on SPI $spi"
    done
    grep -q "QVM-GUEST-INIT: vda read: qvm-disk-$e-from-the-host" "$out" ||
        fail "$e: the guest did not read the disk's line"
    grep -q 'QVM-GUEST-INIT: vda wrote' "$out" || fail "$e: the guest could not write the disk"
    got=$(dd if="fs-$e.img" bs=512 skip=2048 count=1 2>/dev/null | head -n 1)
    [ "$got" = "written-by-the-guest-on-aarch64" ] ||
        fail "$e: the disk holds '$got' 1 MiB in, not the guest's line"
    hwrng_ok
    grep -q 'QVM-HVC: hello from aarch64 on hvc0' "hvc-$e.out" || fail "$e: nothing from hvc0"
    grep -q "QVM-GUEST-INIT: ping $tap ok" "$out" || fail "$e: the guest could not ping L1 ($tap)"
    grep -q "QVM-GUEST-INIT: ping $other ok" "$out" || fail "$e: the guest could not ping $other"
    grep -Eq 'QVM-GUEST-INIT: echo requests received: ([2-9]|[1-9][0-9]+) ' "$out" ||
        fail "$e: not pinged by both L1 and the other guest"
    grep -q "answer-42-$cpus" "$out" || fail "$e: the shell did not answer"
    grep -q 'guest powered off (system event)' "$out" || fail "$e: no power-off through PSCI"
done
echo PASS
