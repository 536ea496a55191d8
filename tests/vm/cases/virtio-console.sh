#!/bin/sh
# virtio-console: the virtio_con guest writes on the transmit queue (a
# chain of two buffers, then 64 lines in one 4 KiB buffer) and reads lines
# from the receive queue, echoing each. Over PCI with `hostdev <FILE` and
# `hostdev >FILE`: the output file holds the guest's lines and the echoes
# of the two input lines. Over virtio-mmio with a packed ring and a FIFO
# for input, written only once the guest waits: the line still arrives.
# timeout: 90
set -u
. cases/virtio-lib
out="$TMPDIR/con.out"
con="$TMPDIR/console.txt"
printf 'hello qvm\nsecond line\n' >"$TMPDIR/in.txt"
runqvm "$out" @"$CONFIGS/virtio-console.qvmconf" cmdline "lines=2" \
    vdev virtio-console hostdev "<$TMPDIR/in.txt" hostdev ">$con"
echo "---- console output"
cat "$con"
guest_ok "$out" virtio-console
has "$out" 'virtio-console: found device 3 on PCI 00:'
has "$out" "virtio-console: got 'hello qvm'"
has "$out" "virtio-console: got 'second line'"
has "$out" 'virtio-console: input: 22 bytes, 2 line(s)'
has "$con" 'virtio-console: hello from the guest'
[ "$(grep -c '^line [0-9][0-9] [a-z]*$' "$con")" -eq 64 ] ||
    fail "the 4 KiB of lines did not all arrive"
grep -q '^line 63 tuvwxyz' "$con" || fail "line 63 is wrong"
has "$con" 'echo: hello qvm'
has "$con" 'echo: second line'
if grep -qF 'emergency write sent' "$out"; then
    has "$con" 'EMERG'
fi
hasnt "$out" 'hello from the guest' # not on stdout

# Input that comes later, through a FIFO (kept open for writing here so
# that the reader never sees an end of file).
fifo="$TMPDIR/in.fifo"
mkfifo "$fifo" || fail "mkfifo"
exec 3<>"$fifo"
con2="$TMPDIR/console2.txt"
qvm_start con2 @"$CONFIGS/virtio-console.qvmconf" cmdline "mmio=$MMIO packed wait=30" \
    vdev virtio-console loc "$MMIO" intr "$MMIO_INTR" \
    hostdev "<$fifo" hostdev ">$con2"
log=$out
wait_for 'virtio-console: waiting for input'
sleep 0.5 # not synchronisation: the line is meant to come late
printf 'late input\n' >&3
rc=0
wait "$pid" || rc=$?
exec 3>&-
out="$TMPDIR/con2.txt"
tr -d '\r' <"$log" >"$out"
cat "$out"
echo "---- console output"
cat "$con2"
guest_ok "$out" virtio-console
has "$out" "virtio-console: found device 3 on virtio-mmio at $MMIO"
has "$out" 'virtio-console: packed ring'
has "$out" "virtio-console: got 'late input'"
has "$con2" 'virtio-console: hello from the guest'
has "$con2" 'echo: late input'
echo "PASS"
