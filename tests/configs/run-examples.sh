#!/bin/sh
# run-examples.sh QVM_BINARY
#
# Dry-runs the public QNX example configurations in examples/ (copies of
# /work/shared/docs/qvm-examples; see README.md). TAP output.
#   *x86* examples:     the host files they name (load images, hostdev disks;
#                       absolute like /vm/images/..., relative like ./linux)
#                       are created when missing, qvm runs `dryrun` in a
#                       temporary directory: exit 0 and "Exiting: dryrun
#                       completed" expected. Everything created is removed on
#                       exit (only what this script created).
#   *aarch64* examples: this qvm is x86-64, so exit 65 and a line containing
#                       "is only for aarch64 guests" are expected.
# Creating /vm, /emmc, /dev/... needs root: when not root each test is
# skipped, unless CI=true (then it fails).
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 QVM_BINARY" >&2
    exit 2
fi
qvm=$1
case $qvm in
/*) ;;
*) qvm=$(pwd)/$qvm ;;
esac
here=$(cd "$(dirname "$0")" && pwd) || exit 2
files=$here/files
# `pci-dummy clone pci:B:D.F` reads the host function's identity from
# sysfs: the examples clone 00:1f.0 (an ISA bridge), which files/sysfs has.
QVM_SYSFS_ROOT=$files/sysfs
export QVM_SYSFS_ROOT

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qvm-examples.XXXXXX") || exit 2
created=$tmp/.created # absolute paths we created, in creation order
: >"$created"

cleanup() {
    # remove in reverse order: files before the directories holding them
    if [ -s "$created" ]; then
        sed -n '1!G;h;$p' "$created" | while IFS= read -r p; do
            if [ -d "$p" ] && [ ! -L "$p" ]; then
                rmdir "$p" 2>/dev/null
            else
                rm -f "$p"
            fi
        done
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

to=
command -v timeout >/dev/null 2>&1 && to="timeout 30"

# make_path PATH SOURCE: creates PATH (and missing parent directories) as a
# copy of SOURCE unless it exists; records what it created.
make_path() {
    p=$1
    case $p in
    /*) ;;
    *) p=$tmp/run/$p ;;
    esac
    [ -e "$p" ] && return 0
    d=$(dirname "$p")
    missing=
    while [ ! -d "$d" ]; do
        missing="$d
$missing"
        d=$(dirname "$d")
    done
    printf '%s' "$missing" | while IFS= read -r m; do
        [ -n "$m" ] || continue
        mkdir "$m" && echo "$m" >>"$created"
    done
    cp "$source_dir/$2" "$p" && echo "$p" >>"$created"
}
source_dir=$files

# host_paths CONF: prints "KIND PATH" for each load and hostdev file.
host_paths() {
    sed 's/#.*//' "$1" | tr -s ' \t' '\n' | awk '
        want == "load" { n = split($0, a, ","); print "load " a[n]; want = ""; next }
        want == "hostdev" {
            p = $0; sub(/^[<>]/, "", p)
            if (p != "-" && p != "pty" && substr(p, 1, 1) != "\"" && p != "")
                print "hostdev " p
            want = ""; next
        }
        $0 == "load" || $0 == "hostdev" { want = $0; next }
    '
}

set -- "$here"/examples/*.qvmconf
echo "1..$#"
n=0
failed=0
uid=$(id -u)
for conf in "$@"; do
    n=$((n + 1))
    name=examples/$(basename "$conf" .qvmconf)
    case $name in
    *aarch64*) arch=aarch64 ;;
    *) arch=x86_64 ;;
    esac
    if [ "$arch" = x86_64 ] && [ "$uid" -ne 0 ]; then
        if [ "${CI:-}" = true ]; then
            echo "not ok $n - $name # needs root to create the host files (CI=true)"
            failed=$((failed + 1))
        else
            echo "ok $n - $name # SKIP not root"
        fi
        continue
    fi
    rm -rf "$tmp/run"
    mkdir "$tmp/run" || exit 2
    cp "$conf" "$tmp/run/" || exit 2
    if [ "$arch" = x86_64 ]; then
        host_paths "$conf" >"$tmp/paths"
        while read -r kind p; do
            case $kind in
            load)
                case $p in
                *initrd* | *.gz) make_path "$p" initrd.img ;;
                *) make_path "$p" tiny.elf ;;
                esac
                ;;
            hostdev) make_path "$p" disk.img ;;
            esac
        done <"$tmp/paths"
    fi
    (cd "$tmp/run" && $to "$qvm" "@$(basename "$conf")" dryrun \
        >"$tmp/out" 2>"$tmp/err" </dev/null)
    st=$?
    why=
    if [ "$arch" = x86_64 ]; then
        [ $st -eq 0 ] || why="exit status $st, expected 0"
        grep -q '^Exiting: dryrun completed$' "$tmp/out" ||
            why="$why; no 'Exiting: dryrun completed'"
    else
        [ $st -eq 65 ] || why="exit status $st, expected 65"
        grep -q 'is only for aarch64 guests' "$tmp/err" ||
            why="$why; no 'is only for aarch64 guests' on stderr"
    fi
    if [ -z "$why" ]; then
        echo "ok $n - $name"
    else
        failed=$((failed + 1))
        echo "not ok $n - $name"
        echo "# ${why#; }"
        sed 's/^/# stderr: /' "$tmp/err"
        tail -n 5 "$tmp/out" | sed 's/^/# stdout: /'
    fi
done
[ $failed -eq 0 ]
