#!/bin/sh
# bzimage-gz: the bzImage test kernel gzip-compressed: qvm decompresses the
# entry image, recognises the bzImage inside and boots it like bzimage.sh.
set -u
out="$TMPDIR/bzimage-gz.out"
. cases/lib.sh
gzip -c guests/bzguest.bin >"$TMPDIR/bzguest.bin.gz" || fail "gzip"
sed "s|^load guests/bzguest.bin|load $TMPDIR/bzguest.bin.gz|" \
    "$CONFIGS/bzimage.qvmconf" >"$TMPDIR/bzimage-gz.qvmconf"
grep -q "load $TMPDIR/bzguest.bin.gz" "$TMPDIR/bzimage-gz.qvmconf" ||
    fail "config not rewritten"
rc=0
"$QVM" @"$TMPDIR/bzimage-gz.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'BZIMAGE-TEST: PASS' "$out" || fail "the guest did not pass"
grep -q 'FAIL:' "$out" && fail "a check failed"
echo "PASS"
