#!/bin/sh
# run-golden.sh [--update] QVM_BINARY
#
# Golden tests for qvm's configuration front end (see README.md here).
# Runs from the directory holding this script (tests/configs/):
#   good/NAME.qvmconf  `QVM [FLAGS] @good/NAME.qvmconf dryrun` must exit 0 with
#                      stdout == good/NAME.out, stderr == good/NAME.err (empty
#                      if absent); with --json stdout == good/NAME.json, which
#                      must parse (python3 -m json.tool), exit 0, stderr ==
#                      good/NAME.err + "Exiting: dryrun completed".
#   bad/NAME.qvmconf   `QVM [FLAGS] @bad/NAME.qvmconf dryrun`: stderr ==
#                      bad/NAME.err, stdout empty, exit status == bad/NAME.status
#                      (default 65).
# FLAGS come from an optional first line `# qvm-flags: ...`.
# Output: TAP. --update rewrites the expected files from the current output.
unset QVM_IRQCHIP
set -u

update=0
if [ "${1:-}" = --update ]; then
    update=1
    shift
fi
if [ $# -ne 1 ]; then
    echo "usage: $0 [--update] QVM_BINARY" >&2
    exit 2
fi
qvm=$1
case $qvm in
/*) ;;
*) qvm=$(pwd)/$qvm ;;
esac
if [ ! -x "$qvm" ]; then
    echo "Bail out! $qvm is not executable"
    exit 2
fi

cd "$(dirname "$0")" || exit 2

# Hermetic environment: host cluster/asinfo tables come from files/, runtime
# paths are fixed, messages are not localised.
QVM_CLUSTERS=files/clusters
QVM_ASINFO=files/asinfo
XDG_RUNTIME_DIR=/run/user/qvm-golden
QVM_SYSFS_ROOT=files/sysfs
QVM_PROC_ROOT=files/proc
LC_ALL=C
export QVM_CLUSTERS QVM_ASINFO XDG_RUNTIME_DIR QVM_SYSFS_ROOT QVM_PROC_ROOT LC_ALL
unset CDPATH

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qvm-golden.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# A configuration that loses its `dryrun` would start a guest: bound every run.
to=
command -v timeout >/dev/null 2>&1 && to="timeout 30"

have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1

n=0
failed=0

flags_of() {
    sed -n '1s/^# qvm-flags:[[:space:]]*//p' "$1"
}

# expect FILE ACTUAL LABEL: appends a diff to $tmp/why when they differ.
expect() {
    exp=$1
    [ -f "$exp" ] || exp=/dev/null
    if ! cmp -s "$exp" "$2"; then
        {
            echo "$3 differs:"
            diff -u --label "expected $1" --label "actual" "$exp" "$2"
        } >>"$tmp/why"
        return 1
    fi
    return 0
}

# put ACTUAL DEST: --update helper; an empty ACTUAL removes DEST.
put() {
    if [ -s "$1" ]; then
        cp "$1" "$2"
    else
        rm -f "$2"
    fi
}

report() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        failed=$((failed + 1))
        echo "not ok $n - $2"
        sed 's/^/# /' "$tmp/why"
    fi
}

count=0
for f in good/*.qvmconf bad/*.qvmconf; do
    [ -f "$f" ] && count=$((count + 1))
done
echo "1..$count"

for conf in good/*.qvmconf; do
    [ -f "$conf" ] || continue
    base=${conf%.qvmconf}
    : >"$tmp/why"
    flags=$(flags_of "$conf")
    # shellcheck disable=SC2086 # FLAGS are meant to be split
    $to "$qvm" $flags "@$conf" dryrun >"$tmp/out" 2>"$tmp/err" </dev/null
    st=$?
    # shellcheck disable=SC2086
    $to "$qvm" --json $flags "@$conf" dryrun >"$tmp/json" 2>"$tmp/jerr" </dev/null
    jst=$?
    if [ $update -eq 1 ]; then
        cp "$tmp/out" "$base.out"
        cp "$tmp/json" "$base.json"
        put "$tmp/err" "$base.err"
    fi
    rc=0
    [ $st -eq 0 ] || { echo "exit status $st, expected 0" >>"$tmp/why"; rc=1; }
    [ $jst -eq 0 ] || { echo "--json: exit status $jst, expected 0" >>"$tmp/why"; rc=1; }
    expect "$base.out" "$tmp/out" stdout || rc=1
    expect "$base.err" "$tmp/err" stderr || rc=1
    expect "$base.json" "$tmp/json" "--json stdout" || rc=1
    # with --json, the closing line goes to stderr so stdout stays JSON
    { [ -f "$base.err" ] && cat "$base.err"; echo "Exiting: dryrun completed"; } >"$tmp/jerr.want"
    expect "$tmp/jerr.want" "$tmp/jerr" "--json stderr" || rc=1
    if [ $have_python -eq 1 ]; then
        if ! python3 -m json.tool <"$tmp/json" >/dev/null 2>"$tmp/jsonerr"; then
            { echo "--json output does not parse:"; cat "$tmp/jsonerr"; } >>"$tmp/why"
            rc=1
        fi
    fi
    report $rc "$base"
done

for conf in bad/*.qvmconf; do
    [ -f "$conf" ] || continue
    base=${conf%.qvmconf}
    : >"$tmp/why"
    flags=$(flags_of "$conf")
    # shellcheck disable=SC2086
    $to "$qvm" $flags "@$conf" dryrun >"$tmp/out" 2>"$tmp/err" </dev/null
    st=$?
    if [ $update -eq 1 ]; then
        cp "$tmp/err" "$base.err"
        if [ $st -eq 65 ]; then rm -f "$base.status"; else echo $st >"$base.status"; fi
    fi
    want=65
    [ -f "$base.status" ] && want=$(cat "$base.status")
    rc=0
    [ "$st" -eq "$want" ] || { echo "exit status $st, expected $want" >>"$tmp/why"; rc=1; }
    expect "$base.err" "$tmp/err" stderr || rc=1
    expect /dev/null "$tmp/out" stdout || rc=1
    report $rc "$base"
done

if [ $failed -ne 0 ]; then
    echo "# $failed of $n failed"
    exit 1
fi
exit 0
