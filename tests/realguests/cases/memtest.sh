#!/bin/sh
# memtest86+ 6.10 (bzImage) prints its version on the serial console.
# timeout: 150
. cases/lib.sh
until_marker memtest.qvmconf 'Memtest86+ v6' 120
[ $found = 1 ] || fail "no 'Memtest86+ v6' on the console"
echo PASS
