#!/bin/bash
# vfio.sh: PCI pass-through under qvm against QEMU's -device vfio-pci
# (issue 17, bench/README.md), both inside the same IOMMU-lab L1
# (tests/lab/lab-run --iommu: QEMU's edu device behind an emulated Intel
# IOMMU, bound to vfio-pci in L1), alternating runs (odd rounds qvm first,
# even rounds QEMU first). The guest is the same for both: Debian's kernel
# and the real-guest initramfs (tests/realguests/prepare.sh) whose /init
# runs edutest (tests/realguests/edutest.c) with qvmedubench=N: the checks
# of tests/realguests/cases/linux-vfio-edu.sh, then N rounds each of
#   - 1,000 reads of edu's ID register through sysfs resource0, timed in
#     the guest with clock_gettime (every read an exit to the VMM while its
#     BARs are trapped);
#   - INTx latency: from the write that starts a factorial with its
#     interrupt to the return of read() on /dev/uioN (uio_pci_generic);
#   - MSI latency: from the same write to the time stamp of Linux's
#     handler for the MSI's vector (tracepoint, clock mono), and from a
#     write to edu's raise register (its MSI at once, without edu's
#     factorial thread in between);
# and prints the medians. One "@@BENCH vfio VMM ROUND mmio_ns=...
# intx_ns=... msi_ns=... msiraise_ns=... ok=0|1" line per run; the report gives each
# VMM's median of the runs' medians and the ratios qvm/QEMU.
# qvm: tests/vm/configs/linux-vfio-edu.qvmconf (256 MiB, KVM's in-kernel
# irqchip, `pass loc pci:0x1234/0x11e8`); QEMU: -M pc -enable-kvm -cpu host
# -m 256M -smp 1 -device vfio-pci,host=EDU, same kernel, initramfs and
# command line.
#
# Usage: bench/vfio.sh [--runs N] [--rounds N] [--build DIR] [--console FILE]
#                      [--no-readme] [--from-console FILE]
#   --runs N     VMM runs each (default 3), --rounds N: benchmark rounds
#                inside each run (default 20)
#   --from-console FILE  no run: the report of a kept L1 console
set -euo pipefail
{
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=3 ROUNDS=20 BUILD=$ROOT/build CONSOLE='' FROM='' README=1
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --console) CONSOLE=$2; shift 2 ;;
    --no-readme) README=0; shift ;;
    --from-console) FROM=$(realpath "$2"); shift 2 ;;
    *) sed -n '/^# Usage:/,/^#   --from-console/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
done
say() { echo "vfio-bench: $*" >&2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/vfio-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
. "$ROOT/bench/lib.sh"

# report: medians and ratios from the L1 console in $W/console.
report() {
    awk -v runs="$RUNS" -v rounds="$ROUNDS" "$BENCH_MEDIAN_AWK"'
        $1 == "@@BENCH" && $2 == "vfio" && / ok=1/ {
            for (i = 5; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[1] ~ /_ns$/ && kv[2] != "") {
                k = $3 SUBSEP kv[1]; v[k, ++n[k]] = kv[2]; per[$3, kv[1], $4] = kv[2] }
            runsok[$3]++
            if (match($0, /stalled=[0-9]+/)) st[$3] += substr($0, RSTART + 8, RLENGTH - 8)
        }
        $1 == "@@BENCH" && $2 == "vfio" && / ok=0/ { bad[$3]++ }
        END {
            if (!runsok["qvm"] || !runsok["qemu"]) { print "vfio-bench: no complete runs of both VMMs"; exit 1 }
            printf "| measure (median of the runs'"'"' medians, %d rounds each) | qvm | QEMU -device vfio-pci | qvm/QEMU |\n", rounds
            print "|---|---|---|---|"
            nk = split("mmio_ns intx_ns msi_ns msiraise_ns", ks, " ")
            name["mmio_ns"] = "1,000 MMIO reads of edu'"'"'s ID register"
            name["intx_ns"] = "INTx: factorial started to uio read() return"
            name["msi_ns"] = "MSI: factorial started to Linux'"'"'s handler"
            name["msiraise_ns"] = "MSI: raise register written to Linux'"'"'s handler"
            for (i = 1; i <= nk; i++) {
                if (!n["qvm" SUBSEP ks[i]] || !n["qemu" SUBSEP ks[i]]) continue
                q = median("qvm" SUBSEP ks[i]); e = median("qemu" SUBSEP ks[i])
                if (ks[i] == "mmio_ns")
                    printf "| %s | %.3f ms | %.3f ms | **%.2f** |\n", name[ks[i]], q / 1e6, e / 1e6, q / e
                else
                    printf "| %s | %.0f us | %.0f us | **%.2f** |\n", name[ks[i]], q / 1000, e / 1000, q / e
            }
            printf "\nRuns that passed the checks: qvm %d, QEMU %d (failed: qvm %d, QEMU %d); L1 stalls woken by lab-run during them: qvm %d, QEMU %d.\n",
                runsok["qvm"], runsok["qemu"], bad["qvm"] + 0, bad["qemu"] + 0, st["qvm"] + 0, st["qemu"] + 0
            for (i = 1; i <= nk; i++) {
                line = ""
                for (r = 1; r <= runs; r++) if (("qvm", ks[i], r) in per && ("qemu", ks[i], r) in per)
                    line = line sprintf(" %.2f", per["qvm", ks[i], r] / per["qemu", ks[i], r])
                if (line != "") printf "- %s, qvm/QEMU per round:%s\n", name[ks[i]], line
            }
        }' "$W/console"
}


if [ -n "$FROM" ]; then
    bench_mark vfio "$FROM"
    RUNS=$(awk '$1 == "@@BENCH" && $2 == "vfio" && $4 > m { m = $4 } END { print m + 0 }' "$W/console")
    ROUNDS=$(sed -n 's/^@@BENCH-ROUNDS //p' "$W/console" | head -n 1)
    report
    exit
fi

ninja -C "$BUILD" >&2 || say "warning: ninja failed; using what is built"
bench_payload fresh "$BUILD" bios-256k.bin kvmvapic.bin linuxboot_dma.bin \
    linuxboot.bin efi-e1000.rom
cp "$RG/vmlinuz" "$RG/initramfs-virtio.cpio.gz" "$P/guests/"
CMDLINE="console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 tsc=reliable i8042.noaux qvmtest=edu qvmedubench=$ROUNDS"
sed "s|^cmdline .*|cmdline \"$CMDLINE\"|" "$ROOT/tests/vm/configs/linux-vfio-edu.qvmconf" >"$P/edu.qvmconf"
grep -q "qvmedubench=$ROUNDS" "$P/edu.qvmconf" || { say "cannot set the command line"; exit 1; }
echo "$RUNS" >"$P/runs"
echo "$CMDLINE" >"$P/cmdline"
echo "$("$P/bin/qvm" --version 2>&1 | head -1) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))" >"$P/version"
cat >"$P/entry.sh" <<'EOF'
#!/bin/sh
# Inside L1: the runs, alternating the VMMs.
P=$(pwd)
cd "$P" || exit 1
echo "@@BENCH-KERNEL $(uname -r)"
echo "@@BENCH-VERSION $(cat "$P/version")"
echo "@@BENCH-ROUNDS $(sed -n 's/.*qvmedubench=\([0-9]*\).*/\1/p' "$P/cmdline")"
edu=''
for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ] && edu=${d##*/}
done
[ -n "$edu" ] || { echo "@@BENCH-ERR no edu device in L1"; exit 1; }
one() { # VMM ROUND
    if [ "$1" = qvm ]; then
        set -- "$1" "$2" "$P/bin/qvm" @"$P/edu.qvmconf"
    else
        set -- "$1" "$2" "$P/bin/qemu-system-x86_64" -enable-kvm -M pc -cpu host \
            -m 256M -smp 1 -nodefaults -no-user-config -nographic -no-reboot \
            -serial stdio -L "$P/fw" -kernel "$P/guests/vmlinuz" \
            -initrd "$P/guests/initramfs-virtio.cpio.gz" \
            -append "$(cat "$P/cmdline")" -device "vfio-pci,host=$edu"
    fi
    vmm=$1 round=$2
    shift 2
    echo "@@QVM-LAB WATCHDOG 400"
    timeout 300 "$@" </dev/null >/tmp/vmm.out 2>&1
    rc=$?
    ok=1
    [ $rc = 0 ] || ok=0
    grep -q '^edu: done' /tmp/vmm.out || ok=0
    m() { sed -n "s/^edu: bench $1 median: \([0-9]*\) ns.*/\1/p" /tmp/vmm.out | head -n 1; }
    echo "@@BENCH vfio $vmm $round mmio_ns=$(m 'mmio 1000 reads') intx_ns=$(m 'intx factorial to uio read') msi_ns=$(m 'msi factorial to handler') msiraise_ns=$(m 'msi raise to handler') rc=$rc ok=$ok"
    [ $ok = 1 ] || sed 's/^/@@BENCH-OUT /' /tmp/vmm.out | tail -n 40
}
r=1
while [ $r -le "$(cat "$P/runs")" ]; do
    if [ $((r % 2)) = 1 ]; then one qvm $r; one qemu $r; else one qemu $r; one qvm $r; fi
    r=$((r + 1))
done
EOF
chmod +x "$P/entry.sh"
say "lab: $RUNS runs each of qvm and QEMU, $ROUNDS rounds each"
"$ROOT/tests/lab/lab-run" --iommu --timeout $((300 + RUNS * 2 * 320)) "$P" >"$W/labout" ||
    say "warning: lab-run exit status $?"
bench_mark vfio "$W/labout"
[ -z "$CONSOLE" ] || cp "$W/console" "$CONSOLE"
grep -E '^@@BENCH(-KERNEL|-VERSION)? ' "$W/console" >&2 || true
grep '^@@BENCH-OUT' "$W/console" | head -n 80 >&2 || true
report >"$W/report" || { cat "$W/report" >&2; exit 1; }
{
    echo "Command: \`bench/vfio.sh --runs $RUNS --rounds $ROUNDS\`, $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Versions: $(sed -n 's/^@@BENCH-VERSION //p' "$W/console" | head -1); $("$QEMU" --version | head -1) in L1; L1 and guest kernel $(sed -n 's/^@@BENCH-KERNEL //p' "$W/console" | head -1)."
    echo
    cat "$W/report"
} >"$W/full"
cat "$W/full"
[ "$README" = 1 ] || exit 0
begin="<!-- bench results: lab-vfio -->" end="<!-- end bench results: lab-vfio -->"
grep -qF "$begin" "$ROOT/bench/README.md" || { say "no '$begin' marker in bench/README.md; not written"; exit 0; }
awk -v b="$begin" -v e="$end" -v f="$W/full" '
    $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
    $0 == e { skip = 0 }
    !skip' "$ROOT/bench/README.md" >"$W/readme"
cp "$W/readme" "$ROOT/bench/README.md"
say "results written to bench/README.md (lab-vfio)"
exit 0
}
