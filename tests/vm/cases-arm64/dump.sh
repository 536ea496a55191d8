#!/bin/sh
# dump: aarch64 guest dumps (docs/dumps.md): ELF64 EM_AARCH64 cores with
# one NT_PRSTATUS per vCPU (x0-x30, sp, pc, pstate as GDB reads them) and
# the QVM note of the EL1 system registers, checked by guests/arm64/
# dumpcheck (the lab has no gdb; the unit test arm64-core-notes has
# gdb-multiarch read the same layout).
# - SIGUSR2 to the pwrbtn guest (polling its GPIO) with `dump DIR`: a core
#   whose vCPU 0 PC is in the guest's code and whose memory holds the
#   guest's marker string at the address it printed; the guest runs on
#   (SIGTERM then presses its key: exit 0).
# - the watchdog's `action dump,terminate` (wdt_starve): a core, exit 4.
# timeout: 300
set -u
. cases/lib.sh
CHECK=$GUESTS/arm64/dumpcheck
CODE='0x80000000 0x80100000' # the guests' image (guest.ld: at 0x80000000)
MARKER='QVM-DUMP-MARKER-a64: pwrbtn'

d=$TMPDIR/usr2
mkdir "$d" || fail "mkdir"
# qvm's lines apart (in $err): SIGTERM's is written while the guest prints.
QVM_ERR_APART=1
qvm_start usr2 @"$CONFIGS/pwrbtn.qvmconf" dump "$d"
wait_for 'pwrbtn: ready'
addr=$(sed -n 's/.*pwrbtn: marker at \(0x[0-9a-f]*\).*/\1/p' "$out" | head -n 1)
[ -n "$addr" ] || fail "no marker address"
kill -USR2 "$pid"
wait_for_in "$err" 'dump written'
set -- "$d"/arm64-pwrbtn-*.gcore
[ -f "$1" ] || fail "no dump in $d"
# shellcheck disable=SC2086
"$CHECK" "$1" 1 $CODE "$addr" "$MARKER" || fail "dumpcheck $1"
kill -TERM "$pid"
wait_for 'pwrbtn: power key pressed'
qvm_wait 0

d=$TMPDIR/wdt
mkdir "$d" || fail "mkdir"
qvm_run wdt @"$CONFIGS/wdt-starve.qvmconf" dump "$d"
[ "$rc" -eq 4 ] || fail "wdt_starve: qvm exited $rc, expected 4"
set -- "$d"/arm64-wdt-starve-*.gcore
[ -f "$1" ] || fail "no watchdog dump in $d"
# shellcheck disable=SC2086
"$CHECK" "$1" 1 $CODE || fail "dumpcheck $1"
echo PASS
