# lib.sh: helpers for the VM cases, sourced with `. cases/lib.sh` (POSIX sh,
# busybox ash: only busybox tools). Not a case: run-vm-tests never runs a
# file named lib.sh.
#
#   qvm_start NAME ARGS...   starts "$QVM" ARGS... in the background, stdout
#                            and stderr to a fresh file $out
#                            ($TMPDIR/NAME.N.out, N counts the starts, so no
#                            step ever sees an earlier step's output); sets
#                            $pid (qvm's own pid: signals go straight to it)
#   wait_for PATTERN [SECS]  waits until PATTERN (a grep basic regular
#                            expression) is in $out; fails at once, with the
#                            output, when qvm exits first, or after SECS
#                            (default 120: the nested lab is slow)
#   wait_for_in FILE PATTERN [SECS]   the same for another file qvm feeds
#                            (a pty reader's copy, a console file)
#   qvm_wait RC              waits for qvm to exit; fails unless its exit
#                            status is RC; sets $rc
#   wait_exit PID [SECS]     waits until another background process (a pty
#                            reader) has exited and reaps it; after SECS
#                            (default 120) kills it and returns 1
#   fail MSG                 shows the output of the last qvm_start (if
#                            any), "FAIL: MSG", exit 1
#   qvm_run NAME ARGS...     runs "$QVM" ARGS... to its end, output in a
#                            fresh $out (shown), status in $rc
#   qvm_run_stamped NAME ARGS...  runs "$QVM" ARGS... to its end with each
#                            output line stamped with the host's uptime
#                            when it arrived ($stamped); $out gets the lines
#                            without stamps (CRs removed), $rc the status
#   find_pci VID DID         the sysfs name (0000:00:04.0) of a PCI function
#                            with those IDs (0x1234 0x11e8), or nothing
#   guest_lines TAG LINE...  qvm exited 0 ($rc), the guest printed no "TAG:
#                            FAIL" line, no qvm thread hit its seccomp
#                            filter, and each LINE (a grep regular
#                            expression) starts a line of $out
#   stamp_ms A B             milliseconds of host time from the last line
#                            with A to the last line with B after it, in
#                            $stamped (fixed strings); -1 when either is
#                            missing. Lower bounds only: the bed may be slow

_qvm_starts=0
_qvm_out=''
out=${out:-}
pid=''

fail() {
    if [ -n "$_qvm_out" ] && [ -f "$_qvm_out" ]; then
        echo "---- $_qvm_out"
        cat "$_qvm_out"
    fi
    if [ -n "${err:-}" ] && [ "$err" != "$_qvm_out" ] && [ -f "$err" ]; then
        echo "---- $err"
        cat "$err"
    fi
    echo "FAIL: $*"
    exit 1
}

# qvm_start NAME ARGS...: qvm in the background, stdout and stderr to $out;
# with QVM_ERR_APART=1 stderr (qvm's own lines) goes to $err instead, for
# a case that must find a guest's line whole while qvm logs (a log line
# written while the guest is mid-line splits it in a shared file).
qvm_start() {
    _qvm_starts=$((_qvm_starts + 1))
    out="$TMPDIR/$1.$_qvm_starts.out"
    err=$out
    _qvm_out=$out
    shift
    : >"$out" || fail "cannot create $out"
    if [ "${QVM_ERR_APART:-0}" = 1 ]; then
        err="$out.err"
        "$QVM" "$@" >"$out" 2>"$err" &
    else
        "$QVM" "$@" >"$out" 2>&1 &
    fi
    pid=$!
}

# _gone PID: the process has exited (it stays a zombie until `wait`, so
# kill -0 still succeeds: look at its state in /proc).
_gone() {
    [ -n "$1" ] || return 0
    _st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    case ${_st##*) } in Z* | X*) return 0 ;; esac
    return 1
}

_qvm_gone() {
    _gone "$pid"
}

wait_exit() {
    _end=$(($(date +%s) + ${2:-120}))
    while ! _gone "$1"; do
        if [ "$(date +%s)" -ge "$_end" ]; then
            kill "$1" 2>/dev/null
            wait "$1" 2>/dev/null
            return 1
        fi
        sleep 0.1
    done
    wait "$1" 2>/dev/null
    return 0
}

wait_for_in() {
    _end=$(($(date +%s) + ${3:-120}))
    while :; do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        if _qvm_gone; then
            # It wrote everything before it exited: one last look.
            grep -q -- "$2" "$1" 2>/dev/null && return 0
            _rc=0
            wait "$pid" || _rc=$?
            pid=''
            [ "$1" = "$_qvm_out" ] || { echo "---- $1"; cat "$1" 2>/dev/null; }
            fail "qvm exited ($_rc) before '$2' appeared in $(basename "$1")"
        fi
        if [ "$(date +%s)" -ge "$_end" ]; then
            kill -9 "$pid" 2>/dev/null
            [ "$1" = "$_qvm_out" ] || { echo "---- $1"; cat "$1" 2>/dev/null; }
            fail "timed out after ${3:-120} s waiting for '$2' in $(basename "$1")"
        fi
        sleep 0.1
    done
}

wait_for() {
    wait_for_in "$_qvm_out" "$1" "${2:-120}"
}

qvm_wait() {
    rc=0
    wait "$pid" || rc=$?
    pid=''
    [ "$rc" -eq "$1" ] || fail "qvm exited $rc, expected $1"
}

qvm_run() {
    _qvm_starts=$((_qvm_starts + 1))
    out="$TMPDIR/$1.$_qvm_starts.out"
    err=$out
    _qvm_out=$out
    echo "---- $1"
    shift
    rc=0
    "$QVM" "$@" </dev/null >"$out" 2>&1 || rc=$?
    cat "$out"
    echo "---- (exit $rc)"
}

qvm_run_stamped() {
    _qvm_starts=$((_qvm_starts + 1))
    out="$TMPDIR/$1.$_qvm_starts.out"
    stamped="$TMPDIR/$1.$_qvm_starts.stamped"
    err=$out
    _qvm_out=$out
    shift
    { "$QVM" "$@" </dev/null 2>&1 || echo "@@rc $?"; } |
        while IFS= read -r _line; do
            read -r _up _ </proc/uptime
            printf '%s %s\n' "$_up" "$_line"
        done >"$stamped"
    cut -d' ' -f2- "$stamped" | tr -d '\r' | grep -v '^@@rc ' >"$out"
    rc=$(sed -n 's/^[^ ]* @@rc //p' "$stamped")
    rc=${rc:-0}
}

stamp_ms() {
    awk -v a="$1" -v b="$2" 'index($0, a) { s = $1 } index($0, b) && s != "" { e = $1 }
        END { if (s == "" || e == "") print -1; else printf "%d\n", (e - s) * 1000 }' \
        "$stamped"
}

# thread_of NAME: the /proc task directory of qvm's thread NAME
thread_of() {
    for t in /proc/"$pid"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] && echo "$t" && return 0
    done
    return 1
}
# sched_of TASKDIR: "POLICY RTPRIO" (stat fields 41 and 40)
sched_of() {
    st=$(cat "$1/stat")
    set -- ${st##*) }
    shift 37
    echo "$2 $1"
}

find_pci() {
    for _d in /sys/bus/pci/devices/*; do
        [ "$(cat "$_d/vendor" 2>/dev/null)" = "$1" ] &&
            [ "$(cat "$_d/device" 2>/dev/null)" = "$2" ] && echo "${_d##*/}" && return 0
    done
    return 0
}

guest_lines() {
    _tag=$1
    shift
    [ "$rc" = 0 ] || fail "qvm exited $rc"
    ! grep -q "$_tag: FAIL" "$out" || fail "the guest failed: $(grep "$_tag: FAIL" "$out")"
    ! grep -q 'forbidden system call' "$out" || fail "seccomp: $(grep 'forbidden' "$out")"
    for _l in "$@"; do
        grep -q "^$_l" "$out" || fail "no line '$_l'"
    done
}
