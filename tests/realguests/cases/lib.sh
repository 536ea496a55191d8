# lib.sh: shared checks for the real-guest cases (sourced; POSIX sh).
fail() {
    echo "FAIL: $*"
    exit 1
}
# boot CONFIG: runs qvm to completion, the console shown as it comes (so a
# case killed by its timeout still shows it) and kept in $out; sets $rc.
boot() {
    out="$TMPDIR/console"
    { "$QVM" @"$CONFIGS/$1" </dev/null 2>&1; echo $? >"$TMPDIR/rc"; } |
        tee "$out"
    rc=$(cat "$TMPDIR/rc")
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
# until_marker CONFIG MARKER SECS: starts qvm, waits until MARKER appears on
# its console (or it exits, or SECS pass), then ends it with SIGQUIT (power
# cut) if it still runs. Sets $out and $found (1 when the marker appeared).
until_marker() {
    out="$TMPDIR/console"
    "$QVM" @"$CONFIGS/$1" </dev/null >"$out" 2>&1 &
    pid=$!
    found=0 i=0
    while [ $i -lt $(($3 * 2)) ]; do
        if grep -q "$2" "$out"; then
            found=1
            break
        fi
        kill -0 $pid 2>/dev/null || break
        sleep 0.5
        i=$((i + 1))
    done
    kill -QUIT $pid 2>/dev/null
    wait $pid
    cat "$out"
}
