#!/bin/sh
# check-hardening.sh QVM CORE_LIB FORTIFY (TAP): qvm as -Dhardening=true
# builds it (meson.build, README "Build options"): a
# position-independent executable (static-pie when static), full RELRO
# (a GNU_RELRO segment, BIND_NOW), a stack that is not executable, and
# qvm's own code (CORE_LIB, libqvmcore.a) calling the stack protector and,
# when FORTIFY is 1 (an optimised build without sanitizers), glibc's
# checked (_FORTIFY_SOURCE) functions.
set -u
qvm=$1 core=$2 fortify=$3
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
readelf -hW "$qvm" >"$t/hdr"
readelf -lW "$qvm" >"$t/seg"
readelf -dW "$qvm" >"$t/dyn"
nm -A "$core" >"$t/syms" 2>/dev/null
check() { # check DESCRIPTION FILE GREP-ARGS...
    d=$1 f=$t/$2
    shift 2
    if grep -q "$@" "$f"; then ok "$d"; else notok "$d"; fi
}
check "qvm is a PIE (ELF type DYN)" hdr "Type: *DYN"
check "a GNU_RELRO segment" seg "GNU_RELRO"
check "BIND_NOW: relocations resolved at start, RELRO covers the GOT" \
    dyn -E "BIND_NOW|Flags:.* NOW"
if grep "GNU_STACK" "$t/seg" | grep -q "RWE"; then
    notok "GNU_STACK is not executable"
else
    ok "GNU_STACK is not executable"
fi
check "qvm's code calls the stack protector (__stack_chk_fail)" \
    syms " U __stack_chk_fail$"
if [ "$fortify" = 1 ]; then
    check "qvm's code calls _FORTIFY_SOURCE's checked functions (__*_chk)" \
        syms -E " U __[a-z_]+_chk$"
fi
echo "1..$n"
exit $failed
