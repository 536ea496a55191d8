#!/bin/sh
# memtest86+ 6.10 (bzImage) prints its version on the serial console.
. cases/lib.sh
until_marker memtest.qvmconf 'Memtest86+ v6' 250
[ $found = 1 ] || fail "no 'Memtest86+ v6' on the console"
echo PASS
