#!/bin/sh
# stdin.sh QVM: a configuration read from a pipe (`qvm @/dev/stdin`), with
# a nested @file, gives the same dryrun as the file; /dev/zero is refused
# with a bound, not read forever.
set -u
qvm=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/qvm-stdin.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
check() { # NAME STATUS
    if [ "$2" -eq 0 ]; then echo "ok - $1"; else echo "not ok - $1"; fails=$((fails + 1)); fi
}
echo "1..3"
printf 'ram 1m,16m\n' >"$T/mem.qvmconf"
printf 'system piped\n@%s/mem.qvmconf\ncpu\n' "$T" >"$T/all.qvmconf"
"$qvm" @"$T/all.qvmconf" dryrun >"$T/file.out" 2>&1
r1=$?
cat "$T/all.qvmconf" | "$qvm" @/dev/stdin dryrun >"$T/pipe.out" 2>&1
r2=$?
[ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] && grep -q '^system piped' "$T/pipe.out" &&
    grep -q ' 16M  ram' "$T/pipe.out"
check "pipe: dryrun of a piped configuration with a nested @file" $?
grep -v 'qvmconf' "$T/file.out" >"$T/a"
grep -v 'qvmconf\|/dev/stdin' "$T/pipe.out" >"$T/b"
cmp -s "$T/a" "$T/b"
check "pipe: the same machine as from the file" $?
"$qvm" @/dev/zero dryrun >"$T/zero.out" 2>&1
[ $? -ne 0 ] && grep -q 'larger than 16 MiB' "$T/zero.out"
check "/dev/zero: refused after 16 MiB" $?
[ "$fails" -eq 0 ]
