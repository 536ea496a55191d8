#!/bin/sh
# Xen 4.17 (multiboot) prints its version banner and stops at "dom0 kernel
# not specified".
# timeout: 150
. cases/lib.sh
until_marker xen.qvmconf 'dom0 kernel not specified' 120
[ $found = 1 ] || fail "no 'dom0 kernel not specified'"
grep -q '(XEN) Xen version 4.17' "$out" || fail "no Xen version banner"
echo PASS
