#!/bin/sh
# dump: guest dumps (docs/dumps.md), with seccomp on (the default).
# - `dump DIR`: SIGUSR2 to the two-vCPU dumpee guest writes
#   DIR/dumpee-YYYYMMDD-hhmmss.gcore (mode 0600, sparse) while the guest
#   goes on printing; a second SIGUSR2 a second file; each is checked by
#   guests/dumpcheck (two NT_PRSTATUS with rip in the guest's code, the QVM
#   notes, the marker string at its guest-physical address).
# - `dump "|gzip ..."`: the dump goes through the command; gunzip and check.
# - a 1 GiB guest's dump leaves qvm's RSS within 4 MiB of before.
# - no `dump`: SIGUSR2 only says so; the guest runs on.
# - a fatal fault dumps before qvm ends: `unsupported reference abort`
#   (exit 5) and a triple fault (exit 0).
# The first SIGUSR2 dump, the piped one and the abort's (with qvm's output)
# go to $EXPORT: dump.host has Debian's gdb read them on the host.
# timeout: 600
set -u
. cases/lib.sh
CHECK=$GUESTS/dumpcheck
MARKER='QVM-DUMP-MARKER-7f3a: dumpee'
CODE='0x100000 0x200000' # the guests' code (guest.ld: at 1 MiB)

# The guest's text alone: qvm's log lines (each one whole, one write) land
# anywhere in the guest's, which comes byte by byte ("dumpee:qvm: info:
# ...\n tick 6"): take them out, and the CRs, and the last line (it may
# still be growing).
guest_text() {
    awk '{ i = index($0, "qvm: ")
           if (i) { carry = carry substr($0, 1, i - 1); next }
           print carry $0; carry = "" }' "$out" | tr -d '\r' | sed '$d'
}

last_tick() {
    guest_text | sed -n 's/^dumpee: tick \([0-9]*\)$/\1/p' | tail -n 1
}

# wait_tick N: until the guest has printed tick N or a later one.
wait_tick() {
    _w=0
    while :; do
        _t=$(last_tick)
        [ -n "$_t" ] && [ "$_t" -ge "$1" ] && return 0
        _qvm_gone && fail "qvm ended before the guest's tick $1"
        _w=$((_w + 1))
        [ "$_w" -le 600 ] || fail "no tick $1 of the guest within 120 s"
        sleep 0.2
    done
}

# check FILE NCPUS: dumpcheck with the marker when it is dumpee's
check() {
    if [ "$2" = 2 ]; then
        # shellcheck disable=SC2086
        "$CHECK" "$1" 2 $CODE 0x300000 "$MARKER" || fail "dumpcheck $1"
    else
        # shellcheck disable=SC2086
        "$CHECK" "$1" "$2" $3 || fail "dumpcheck $1"
    fi
}

# ---- dump DIR, SIGUSR2 twice
d=$TMPDIR/dumps
mkdir "$d"
qvm_start dir @"$CONFIGS/dumpee.qvmconf" dump "$d"
wait_for 'dumpee: 2 CPUs up'
wait_tick 1
kill -USR2 "$pid"
wait_for 'SIGUSR2: dump written'
n=$(last_tick)
wait_tick $((n + 2))
set -- "$d"/dumpee-????????-??????.gcore
[ $# = 1 ] && [ -f "$1" ] || fail "no single dumpee-YYYYMMDD-hhmmss.gcore in $d: $(ls "$d")"
first=$1
case $(ls -l "$first") in -rw-------*) ;; *) fail "mode: $(ls -l "$first")" ;; esac
kill -USR2 "$pid"
while [ "$(grep -c 'SIGUSR2: dump written' "$out")" -lt 2 ]; do
    _qvm_gone && fail "qvm ended during the second dump"
    sleep 0.2
done
n=$(last_tick)
wait_tick $((n + 1))
kill -QUIT "$pid"
qvm_wait 3
[ "$(ls "$d" | wc -l)" -eq 2 ] || fail "not two dumps: $(ls "$d")"
for f in "$d"/*.gcore; do
    check "$f" 2
done
# Sparse: 64 MiB of RAM and ROM (less the 128 KiB hole at 0xa0000), of
# which the guest touched little.
kb=$(du -k "$first" | cut -f1)
size=$(wc -c <"$first")
echo "dump: $size bytes, $kb KiB on disk"
[ "$size" -gt $((64 * 1024 * 1024 - 0x20000)) ] || fail "the dump is smaller than RAM"
[ "$kb" -lt 16384 ] || fail "not sparse: $kb KiB on disk"
# for gdb on the host (dump.host)
mv "$first" "$EXPORT/sigusr2.gcore" || fail "export"
cat "$out"

# ---- a 1 GiB guest: the dump leaves qvm's RSS within 4 MiB of before
rss() {
    sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status"
}
g=$TMPDIR/big
mkdir "$g"
qvm_start big @"$CONFIGS/dumpee-1g.qvmconf" dump "$g"
wait_tick 1
before=$(rss)
kill -USR2 "$pid"
wait_for 'SIGUSR2: dump written'
after=$(rss)
echo "1 GiB guest: qvm's RSS $before kB before the dump, $after kB after"
[ "$after" -le $((before + 4096)) ] || fail "RSS grew from $before to $after kB"
kill -QUIT "$pid"
qvm_wait 3
set -- "$g"/dumpee-*.gcore
[ $# = 1 ] && [ -f "$1" ] || fail "no dump in $g"
[ "$(wc -c <"$1")" -gt $((1023 * 1024 * 1024)) ] || fail "short 1 GiB dump"
check "$1" 2
rm -f "$1"
cat "$out"

# ---- dump "|command"
qvm_start pipe @"$CONFIGS/dumpee.qvmconf" dump "|gzip -c >$TMPDIR/pipe.gz"
wait_tick 1
kill -USR2 "$pid"
wait_for 'SIGUSR2: dump written'
n=$(last_tick)
wait_tick $((n + 1))
kill -QUIT "$pid"
qvm_wait 3
gunzip -c "$TMPDIR/pipe.gz" >"$TMPDIR/pipe.gcore" || fail "gunzip"
check "$TMPDIR/pipe.gcore" 2
rm -f "$TMPDIR/pipe.gcore"
mv "$TMPDIR/pipe.gz" "$EXPORT/pipe.gcore.gz" || fail "export"
cat "$out"

# ---- no dump configured
qvm_start none @"$CONFIGS/dumpee.qvmconf"
wait_tick 1
kill -USR2 "$pid"
wait_for 'SIGUSR2: no `dump` configured'
n=$(last_tick)
wait_tick $((n + 1))
kill -QUIT "$pid"
qvm_wait 3
cat "$out"

# ---- fatal faults
f=$TMPDIR/fault
mkdir "$f"
qvm_start abort @"$CONFIGS/unsup.qvmconf" unsupported reference abort dump "$f"
qvm_wait 5
grep -q 'unsupported reference abort: dump written' "$out" || fail "no dump log line"
set -- "$f"/unsup-*.gcore
[ $# = 1 ] && [ -f "$1" ] || fail "no unsup dump in $f"
check "$1" 1 "$CODE"
mv "$1" "$EXPORT/abort.gcore" && cp "$out" "$EXPORT/abort.log" || fail "export"
cat "$out"
t=$TMPDIR/triple
mkdir "$t"
qvm_start triple @"$CONFIGS/triple.qvmconf" dump "$t"
qvm_wait 0
grep -q 'triple fault: dump written' "$out" || fail "no dump log line"
set -- "$t"/triple-*.gcore
[ $# = 1 ] && [ -f "$1" ] || fail "no triple dump in $t"
# AMD's KVM reinitialises the vCPU after a triple fault (the VMCB is
# undefined after a shutdown): its registers may be the reset state.
"$CHECK" -r "$1" 1 0 0x100000000 || fail "dumpcheck $1"
cat "$out"
echo "PASS"
