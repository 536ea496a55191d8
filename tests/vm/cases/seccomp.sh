#!/bin/sh
# seccomp: confinement (README "Confinement"). The virtio_blk guest holds
# after its FLUSH, so every thread kind exists (main, vCPUs, the I/O
# thread, the PCI remap thread, one block worker per queue): each shows
# `Seccomp: 2` in /proc/PID/task/TID/status. SIGTERM then runs the power
# cut and the whole teardown under the main thread's filter: exit 3, no
# forbidden call. A whole guest run (every virtio-blk request kind, a
# reset, 2 queues, O_DIRECT) passes with the filters on. As root, `user
# 65534:65534` leaves every thread with those ids and no other group.
# QVM_SECCOMP=off installs no filter. (A forbidden call from a device
# thread ending qvm with its name logged: tests/unit/test_confine.c.)
# timeout: 200
set -u
. cases/virtio-lib
img="$TMPDIR/disk.img"
mkimg "$img" 2048

# status_all PID FIELD: "TID value..." for FIELD of every thread.
status_all() {
    for t in /proc/"$1"/task/*; do
        v=$(grep "^$2:" "$t/status" 2>/dev/null | cut -f2-)
        [ -n "$v" ] && echo "${t##*/} $(cat "$t/comm" 2>/dev/null) $v"
    done
}

# hold_run NAME ARGS...: start the guest with two queues and wait until it
# holds after its flush (the block workers run).
hold_run() {
    _n=$1
    shift
    qvm_start "$_n" @"$CONFIGS/virtio-blk.qvmconf" cmdline "wsec=40 hold" \
        vdev virtio-blk threads 2 hostdev "$img" "$@"
    wait_for 'holding after the flush'
}

# 1. Every thread is filtered.
hold_run filtered
st=$(status_all "$pid" Seccomp)
echo "$st"
n=$(echo "$st" | wc -l)
[ "$n" -ge 6 ] || fail "expected main, vCPU, I/O, PCI remap and 2 block workers, saw $n threads"
echo "$st" | grep -q ' qvm-blk-q0 ' || fail "no block worker thread"
echo "$st" | grep -q ' qvm-blk-q1 ' || fail "no second block worker thread"
echo "$st" | grep -v ' 2$' && fail "a thread without its seccomp filter"
kill -TERM "$pid"
qvm_wait 3
grep -q 'forbidden system call' "$out" && fail "a forbidden call in the teardown"
grep -q 'power cut' "$out" || fail "no power-cut log line"

# 2. A whole run with the filters on.
out2="$TMPDIR/full.out"
runqvm "$out2" @"$CONFIGS/virtio-blk.qvmconf" cmdline "wsec=21" \
    vdev virtio-blk threads 2 dio enable hostdev "$img"
guest_ok "$out2" virtio-blk
has "$out2" 'after reset: read sector 0 ok'
hasnt "$out2" 'forbidden system call'
expect_write "$img" 21

# 3. `user`: qvm started as root ends up as 65534:65534 on every thread.
if [ "$(id -u)" -eq 0 ]; then
    chmod 0600 "$img"
    hold_run user user 65534:65534
    grep -q 'running as uid 65534 gid 65534' "$out" || fail "no drop log line"
    for f in Uid Gid; do
        bad=$(status_all "$pid" "$f" | grep -v " 65534	65534	65534	65534$")
        [ -z "$bad" ] || fail "$f not 65534 everywhere: $bad"
    done
    bad=$(status_all "$pid" Groups | grep -v ' 65534 *$')
    [ -z "$bad" ] || fail "supplementary groups left: $bad"
    status_all "$pid" Seccomp | grep -v ' 2$' && fail "unfiltered thread with user"
    kill -TERM "$pid"
    qvm_wait 3
    grep -q 'forbidden system call' "$out" && fail "a forbidden call (user)"
else
    echo "not root: the user drop is not tried"
fi

# 4. QVM_SECCOMP=off: no filter anywhere, said once.
export QVM_SECCOMP=off
hold_run off
unset QVM_SECCOMP
grep -q 'QVM_SECCOMP=off' "$out" || fail "no QVM_SECCOMP=off warning"
status_all "$pid" Seccomp | grep -v ' 0$' && fail "a filter with QVM_SECCOMP=off"
kill -TERM "$pid"
qvm_wait 3
echo "PASS"
