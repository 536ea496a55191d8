#!/bin/sh
# check-static.sh [BUILD]: two static analysers over qvm's sources must find
# nothing (a source check, README "Tests": a VMM's own code is held to no
# finding). Findings print as FILE:LINE:COL and the exit status is 1.
#  - cppcheck (Debian's, 2.10), once per architecture. It cannot parse a
#    __typeof__ cast: util/vec.h gives it a plain VEC_PUSH under __CPPCHECK__.
#  - clang-tidy's static analyzer (clang 14; checks in .clang-tidy, with why
#    three are left out): x86-64 sources through BUILD's compile database
#    (default build/), src/arch/arm64 and main.c for aarch64.
# A finding that is wrong is silenced where it is (`cppcheck-suppress ID`,
# `NOLINT(check)`), with the reason in the same comment; nothing is silenced
# here.
build=$(realpath "${1:-build}") || exit 1
cd "$(dirname "$0")/.." || exit 1
for t in cppcheck clang-tidy; do
    command -v $t >/dev/null || {
        echo "check-static: $t is not installed (apt-get install $t)" >&2
        exit 1
    }
done
[ -f "$build/compile_commands.json" ] || {
    echo "check-static: no $build/compile_commands.json (meson setup $build)" >&2
    exit 1
}
rc=0
for arch in __x86_64__ __aarch64__; do
    out=$(cppcheck --quiet --std=c11 --enable=warning,portability \
        --inline-suppr --error-exitcode=1 -D__CPPCHECK__ -D"$arch" \
        -D__linux__ -D_GNU_SOURCE -Isrc src 2>&1) || rc=1
    [ -z "$out" ] || { echo "check-static ($arch):"; echo "$out"; rc=1; }
done
# clang-tidy prints its findings on stdout, its counts on stderr.
finding() {
    [ -z "$1" ] || { echo "check-static (clang-tidy, $2):"; echo "$1"; rc=1; }
}
x86=$(find src -name '*.c' ! -path 'src/arch/arm64/*' | sort)
out=$(echo "$x86" | xargs -P "$(nproc)" -n 8 clang-tidy --quiet -p "$build" \
    2>/dev/null) || rc=1
finding "$out" x86_64
# shellcheck disable=SC2046 # the file names have no blanks
out=$(clang-tidy --quiet $(ls src/arch/arm64/*.c) src/main.c -- \
    --target=aarch64-linux-gnu -std=c17 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
    '-DQVM_VERSION="0"' -Isrc 2>/dev/null) || rc=1
finding "$out" aarch64
[ $rc = 0 ] && echo "check-static: cppcheck and clang-tidy find nothing in src/ (x86_64, aarch64)"
exit $rc
