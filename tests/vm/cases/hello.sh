#!/bin/sh
# hello: qvm boots the multiboot hello guest; its banner and the multiboot
# command line reach COM1 (hostdev >-), the guest powers off through the
# ACPI PM1a port, and qvm exits 0 saying "guest powered off"; its reaper
# (the VM's teardown after qvm's exit) is gone soon after.
set -u
out="$TMPDIR/hello.out"
rc=0
"$QVM" @"$CONFIGS/hello.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'Hello from the qvm guest' "$out" || fail "no banner"
grep -q 'multiboot magic 0x2badb002 (ok)' "$out" || fail "bad multiboot magic"
grep -q 'cmdline: .*hello from the command line' "$out" || fail "no cmdline"
grep -q 'boot loader: qvm' "$out" || fail "no boot loader name"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
if grep -q 'still running after power-off' "$out"; then
    fail "guest ran on after power-off"
fi
# The kernel's VM teardown runs after qvm's exit, in qvm's reaper
# (src/vm/reaper.h): it goes too, once the VM is gone.
_end=$(($(date +%s) + 30))
while grep -qx qvm-reaper /proc/[0-9]*/comm 2>/dev/null; do
    [ "$(date +%s)" -lt "$_end" ] || fail "a qvm-reaper outlived qvm by 30 s"
    sleep 0.1
done
echo "PASS"
