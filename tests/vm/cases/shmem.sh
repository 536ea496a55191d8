#!/bin/sh
# shmem: two qvm processes share a region through `vdev shmem`
# (tests/guests/shmem.c; docs/shmem.md), over PCI and then over MMIO.
#   - A creates the region (`create NAME,16K,0600`), B attaches it; three
#     exchanges: B writes a message in the region and notifies A, A's
#     interrupt handler sees B's bit, A checks the text, answers the same
#     way; both count their interrupts;
#   - a third qvm whose shmem denies the name (`deny`) is refused
#     (status 5, GSS_NO_PERMISSION); as root, a qvm running as `nobody` is
#     refused too (the region file is 0600, root's);
#   - B is killed (SIGKILL): A keeps running; a new B attaches (it takes
#     the dead client's index back) and exchanges again with A;
#   - the host reads B's last message in the region file;
#   - the same exchange between two MMIO shmems (loc + intr).
# Regions live in a private directory (QVM_SHM_DIR) so that nothing is
# left behind in /dev/shm.
# timeout: 300
set -u
. cases/lib.sh
chmod 711 "$TMPDIR"
QVM_SHM_DIR=$TMPDIR/shm
export QVM_SHM_DIR
mkdir -m 1777 "$QVM_SHM_DIR" || fail "mkdir $QVM_SHM_DIR"
name=qvmt$$
pci=$CONFIGS/shmem-pci.qvmconf
mmio=$CONFIGS/shmem-mmio.qvmconf

check_clean() {
    grep -q 'shmem: FAIL' "$1" && fail "a guest failed: $(grep FAIL "$1")"
    grep -q 'forbidden system call' "$1" && fail "seccomp: $(cat "$1")"
    return 0
}

# --- PCI: A and B exchange, B stays up.
qvm_start a @"$pci" create "$name,16K,0600" cmdline "role=a name=$name sessions=2"
pid_a=$pid
out_a=$out
wait_for 'shmem: a attached as client 0'
ls -l "$QVM_SHM_DIR/qvm-shmem-$name" | grep -q '^-rw-------' ||
    fail "region file mode: $(ls -l "$QVM_SHM_DIR")"
qvm_start b @"$pci" cmdline "role=b name=$name end=spin"
pid_b=$pid
wait_for 'shmem: b done'
wait_for "shmem: b read 'msg from a 2'"
wait_for_in "$out_a" "shmem: a read 'msg from b 2' from client 1"
n=$(sed -n 's/.*shmem: b done, \([0-9]*\) interrupts.*/\1/p' "$out")
[ "${n:-0}" -ge 3 ] || fail "b counted ${n:-0} interrupts, not at least 3"
check_clean "$out"
# The host sees the same bytes: B (client 1) wrote at data + 256, the data
# at offset 4096 of the region file (docs/shmem.md).
got=$(dd if="$QVM_SHM_DIR/qvm-shmem-$name" bs=1 skip=4352 count=12 2>/dev/null)
[ "$got" = "msg from b 2" ] || fail "the host read '$got' in the region"

# --- A third qvm whose shmem denies the name.
qvm_start c @"$pci" deny 'qvmt*' cmdline "role=c name=$name"
qvm_wait 0
grep -q 'shmem: c status 5' "$out" || fail "the denied qvm was not refused"

# --- Another user (the region is root's, 0600).
if [ "$(id -u)" -eq 0 ]; then
    qvm_start nobody @"$pci" user 65534:65534 cmdline "role=c name=$name"
    qvm_wait 0
    grep -q 'shmem: c status 5' "$out" ||
        fail "a qvm running as nobody was not refused"
    check_clean "$out"
else
    echo "not root: the other-user refusal is not tried"
fi

# --- B dies; A runs on; a new B attaches and talks to A.
kill -KILL "$pid_b"
wait "$pid_b" 2>/dev/null
_gone "$pid_a" && { out=$out_a; fail "A ended when B was killed"; }
qvm_start b2 @"$pci" cmdline "role=b name=$name"
wait_for 'shmem: b attached as client 1'
qvm_wait 0
grep -q "shmem: b read 'msg from a 2'" "$out" || fail "the new B: no answer"
check_clean "$out"
pid=$pid_a
out=$out_a
_qvm_out=$out_a
qvm_wait 0
grep -q 'shmem: a done' "$out_a" || fail "A did not finish"
[ "$(grep -c "shmem: a read 'msg from b" "$out_a")" -eq 6 ] ||
    fail "A did not serve both Bs"
check_clean "$out_a"

# --- MMIO: the same exchange.
m=qvmm$$
qvm_start ma @"$mmio" cmdline "role=a name=$m mmio=feb00000"
pid_a=$pid
out_a=$out
wait_for 'shmem: a attached as client 0'
qvm_start mb @"$mmio" cmdline "role=b name=$m mmio=feb00000"
qvm_wait 0
grep -q "shmem: b read 'msg from a 2'" "$out" || fail "MMIO: b got no answer"
check_clean "$out"
pid=$pid_a
out=$out_a
_qvm_out=$out_a
qvm_wait 0
grep -q 'shmem: a done' "$out" || fail "MMIO: A did not finish"
check_clean "$out"
# What each qvm and guest said (shown with -v).
for f in "$TMPDIR"/*.out; do
    echo "== ${f##*/}"
    grep -E 'shmem|confine' "$f"
done
echo "PASS"
