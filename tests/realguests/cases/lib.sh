# lib.sh: shared checks for the real-guest cases (sourced; POSIX sh).
fail() {
    echo "FAIL: $*"
    exit 1
}
# boot CONFIG [WORDS...]: runs qvm to completion (WORDS continue the
# configuration), the console shown as it comes (so a case killed by its
# timeout still shows it) and kept in $out; sets $rc.
boot() {
    out="$TMPDIR/console"
    cfg=$1
    shift
    { "$QVM" @"$CONFIGS/$cfg" "$@" </dev/null 2>&1; echo $? >"$TMPDIR/rc"; } |
        tee "$out"
    rc=$(cat "$TMPDIR/rc")
}
# vfio_device VID DID NAME: the host PCI function VID:DID (0x1234 0x11e8)
# bound to vfio-pci in $dev (its sysfs name); skips the case (77) where
# there is none (the IOMMU lab has edu, a virtio-rng-pci and an NVMe
# controller bound, tests/lab/README.md).
vfio_device() {
    dev=''
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor" 2>/dev/null)" = "$1" ] &&
            [ "$(cat "$d/device" 2>/dev/null)" = "$2" ] && dev=${d##*/}
    done
    if [ -z "$dev" ] || [ "$(basename "$(readlink "/sys/bus/pci/devices/$dev/driver")")" != vfio-pci ]; then
        echo "SKIP: no $3 (${1#0x}:${2#0x}) bound to vfio-pci here (the IOMMU lab has one)"
        exit 77
    fi
}
# markers CPUS MEM_MIN_KB: the initramfs markers and a clean kernel log.
markers() {
    grep -q 'QVM-GUEST-INIT: start' "$out" || fail "userspace never started"
    grep -q "QVM-GUEST-INIT: cpus=$1 " "$out" || fail "expected $1 CPU(s)"
    mem=$(sed -n 's/.*QVM-GUEST-INIT: cpus=[0-9]* mem_kb=\([0-9]*\).*/\1/p' "$out")
    [ "${mem:-0}" -ge "$2" ] || fail "guest reports ${mem:-no} KiB, expected >= $2"
    grep -q 'QVM-GUEST-INIT: cmdline: .*console=ttyS0 .*panic=-1' "$out" ||
        fail "the guest does not report the configured command line"
    grep -q 'QVM-GUEST-INIT: kernel-log-problems=0' "$out" ||
        fail "WARNING/BUG/call trace in the kernel log"
    if grep -qiE 'WARNING:|BUG:|call trace' "$out"; then
        fail "WARNING/BUG/call trace on the console"
    fi
}
# start CONFIG [WORDS...]: starts qvm in the background (stdin from
# $stdin, default /dev/null) with its console shown as it comes (so that a
# stalled run shows where it stopped) and kept in $out
# ($TMPDIR/CONFIG.out). Sets $pid (qvm's) and $job; finish waits for them
# and sets $rc. For a second instance, keep its $out, $pid and $job and
# give them back before calling finish.
start() {
    out="$TMPDIR/$1.out"
    rm -f "$out.pid" "$out.rc"
    : >"$out"
    cfg=$1
    shift
    { sh -c 'echo $$ >"$0.pid"; exec "$@"' "$out" "$QVM" @"$CONFIGS/$cfg" "$@" \
        <"${stdin:-/dev/null}" 2>&1; echo $? >"$out.rc"; } | tee "$out" &
    job=$!
    i=0
    while [ ! -s "$out.pid" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    pid=$(cat "$out.pid") || fail "qvm did not start"
}
finish() {
    wait "$job"
    rc=$(cat "$out.rc")
}
# wait_for MARKER SECS: waits until MARKER is in $out; 1 if SECS pass or
# qvm exits first.
wait_for() {
    end=$(($(date +%s) + $2))
    while [ "$(date +%s)" -lt $end ]; do
        grep -q "$1" "$out" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            sleep 0.5 # what qvm wrote last may still be on its way
            grep -q "$1" "$out"
            return
        fi
        sleep 0.5
    done
    return 1
}
# until_marker CONFIG MARKER SECS: starts qvm, waits until MARKER appears on
# its console (or it exits, or SECS pass), then ends it with SIGQUIT (power
# cut) if it still runs. Sets $out and $found (1 when the marker appeared).
until_marker() {
    start "$1"
    found=0
    wait_for "$2" "$3" && found=1
    kill -QUIT "$pid" 2>/dev/null
    finish
}
# virtio_modules: Debian's virtio modules were all loaded in the guest.
virtio_modules() {
    grep -q 'QVM-GUEST-INIT: modules loaded=[1-9][0-9]* failed= none' "$out" ||
        fail "the guest could not load its virtio modules"
}
# image_has IMAGE PATH TEXT: the ext4 IMAGE holds PATH with TEXT (debugfs,
# from prepare.sh), and is clean (e2fsck -n).
image_has() {
    got=$("$GUESTS/virtio/bin/debugfs" -R "cat $2" "$1" 2>/dev/null)
    [ "$got" = "$3" ] || fail "$2 in the image holds '$got', expected '$3'"
    "$GUESTS/virtio/bin/e2fsck" -fn "$1" || fail "e2fsck finds the image damaged"
}
# hwrng_ok: virtio-rng is the guest's hw_random source and two reads of
# /dev/hwrng gave 32 bytes each, different and not all zero.
hwrng_ok() {
    grep -q 'QVM-GUEST-INIT: rng_current=virtio_rng' "$out" ||
        fail "virtio_rng is not the guest's hw_random source"
    set -- $(sed -n 's/.*QVM-GUEST-INIT: hwrng: \([0-9a-f]*\).*/\1/p' "$out")
    [ $# = 2 ] && [ ${#1} = 64 ] && [ ${#2} = 64 ] || fail "/dev/hwrng did not deliver 2 x 32 bytes"
    [ "$1" != "$2" ] || fail "/dev/hwrng gave the same bytes twice"
    case $1 in *[1-9a-f]*) ;; *) fail "/dev/hwrng gave zeros" ;; esac
}
# vda_transport MODERN IRQ: the guest's virtio-blk negotiated
# VIRTIO_F_VERSION_1 (MODERN 1) or not (0), and its interrupts are of the
# kind IRQ (PCI-MSI or IO-APIC, as /proc/interrupts names them).
vda_transport() {
    f=$(sed -n 's/.*QVM-GUEST-INIT: vda features \([01]*\).*/\1/p' "$out")
    [ ${#f} -ge 33 ] || fail "no feature bits for /dev/vda"
    [ "$(echo "$f" | cut -c33)" = "$1" ] ||
        fail "VIRTIO_F_VERSION_1 is $(echo "$f" | cut -c33), expected $1"
    grep -q "QVM-GUEST-INIT: irq: .*$2.*virtio" "$out" ||
        fail "the virtio interrupts are not $2"
}
