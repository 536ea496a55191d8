#!/bin/sh
# bzimage-bad: malformed boot images are fatal errors before the guest
# starts (exit 64) with one line naming the file and the reason: a
# truncated bzImage, a gzip'd image with corrupt data, and a bzImage that
# claims more protected-mode code than the file holds.
set -u
. cases/lib.sh
# try NAME REASON: run the bzimage config with the entry image NAME.
try() {
    sed "s|^load guests/bzguest.bin|load $TMPDIR/$1|" \
        "$CONFIGS/bzimage.qvmconf" >"$TMPDIR/bad.qvmconf"
    rc=0
    "$QVM" @"$TMPDIR/bad.qvmconf" >"$TMPDIR/bad.out" 2>&1 || rc=$?
    cat "$TMPDIR/bad.out"
    [ "$rc" -eq 64 ] || fail "$1: qvm exited $rc, expected 64"
    grep -q "loader: $TMPDIR/$1: .*$2" "$TMPDIR/bad.out" ||
        fail "$1: no error naming the file and '$2'"
}
head -c 768 guests/bzguest.bin >"$TMPDIR/short.bin"
try short.bin "fills the whole file"
head -c 4000 guests/bzguest.bin >"$TMPDIR/trunc.bin"
try trunc.bin "syssize"
gzip -c guests/bzguest.bin | head -c 200 >"$TMPDIR/trunc.gz"
try trunc.gz "gzip"
echo "PASS"
