#!/bin/sh
# check-examples.sh QVM: every configuration in examples/ passes dryrun
# (stand-in files for the guest images it names, in a scratch directory,
# since the examples resolve paths against the current directory).
set -u
qvm=$1
case $qvm in /*) ;; *) qvm=$(pwd)/$qvm ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
for conf in "$root"/examples/*.qvmconf; do
    n=$((n + 1))
    name=$(basename "$conf")
    mkdir -p "$tmp/$n"
    # `load [ADDR,]FILE` lines: make FILE (relative paths only)
    sed -n 's/^[[:space:]]*\([a-z]*[[:space:]]\{1,\}\)\{0,1\}load[[:space:]]\{1,\}\([^[:space:]#]*\).*/\2/p' "$conf" |
        sed 's/^[^,]*,//' | while read -r f; do
            case $f in /*) continue ;; esac
            mkdir -p "$tmp/$n/$(dirname "$f")"
            printf 'x' >"$tmp/$n/$f"
        done
    if (cd "$tmp/$n" && "$qvm" @"$conf" dryrun) >"$tmp/out" 2>&1 &&
        grep -q 'Exiting: dryrun completed' "$tmp/out"; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"
        sed 's/^/# /' "$tmp/out"
        failed=1
    fi
done
echo "1..$n"
exit $failed
