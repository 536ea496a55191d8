#!/bin/sh
# smp: the smp guest finds the RSDP/XSDT/MADT and the MP table, starts its
# 3 APs with INIT/SIPI; each reports its APIC ID; the BSP powers off via
# the FADT's PM1a_CNT and _S5: qvm exits 0.
set -u
out="$TMPDIR/smp.out"
rc=0
"$QVM" @"$CONFIGS/smp.qvmconf" >"$out" 2>&1 || rc=$?
cat "$out"
. cases/lib.sh
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
grep -q 'MP: 4 processors' "$out" || fail "MP table: not 4 processors"
grep -q 'ACPI: 4 CPUs in the MADT, BSP APIC ID 0' "$out" || fail "MADT"
for id in 1 2 3; do
    grep -q "AP: APIC ID $id up" "$out" || fail "AP with APIC ID $id did not report"
done
grep -q 'SMP: 4 CPUs up' "$out" || fail "not all CPUs up"
grep -q 'guest powered off' "$out" || fail "no power-off log line"
! grep -q FAIL "$out" || fail "the guest reported a failure"
echo "PASS"
