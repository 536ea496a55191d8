#!/bin/bash
# smp.sh: SMP scaling of the exit path in the nested lab (bench/README.md,
# "SMP scaling"; issue 18 item 3). The bench_smp guest with one vCPU
# (100,000 exits to COM1's scratch register) and with two (the same, plus
# 100,000 by the second vCPU to COM2's), alternating, in one L1 with
# --smp 2 vCPUs (lab-run, TCG with a thread per vCPU); exits per second
# between the guest's "@S" and "@E" markers, and their ratio.
#
#     bench/smp.sh [--runs N] [--build DIR] [--l1-cpus N] [--pin] [--raw FILE] [--console FILE]
#     bench/smp.sh --from RAW      (the summary of a kept --raw file)
#
# Prints the per-run lines and a summary (medians, the ratio of the
# medians, the median of the per-round ratios). The host bed (a real
# /dev/kvm) would take: QVM=build/qvm GUESTS=build/tests/guests \
# TSTAMP=build/bench/tstamp sh PAYLOAD/entry.sh (not on this machine).
# --pin: each vCPU pinned to its own L1 CPU (`cpu runmask 0`, `cpu runmask
# 1`) instead of floating; with PIN=1 in entry.sh's environment on a host.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=5 BUILD=$ROOT/build L1CPUS=2 RAW='' FROM='' PIN=0 CONSOLE=''
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --l1-cpus) L1CPUS=$2; shift 2 ;;
    --raw) RAW=$2; shift 2 ;;
    --pin) PIN=1; shift ;;
    --console) CONSOLE=$2; shift 2 ;;
    --from) FROM=$2; shift 2 ;;
    *) echo "usage: bench/smp.sh [--runs N] [--build DIR] [--l1-cpus N] [--pin] [--raw FILE] [--console FILE]" >&2; exit 2 ;;
    esac
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
if [ -n "$FROM" ]; then
    cp "$FROM" "$W/console"
else
ninja -C "$BUILD" qvm bench/tstamp tests/guests/bench_smp.elf >/dev/null
P=$W/payload
mkdir -p "$P/bin" "$P/guests"
cp "$BUILD/qvm" "$BUILD/bench/tstamp" "$ROOT/bench/smp-qvmconf.sh" "$P/bin/"
cp "$BUILD/tests/guests/bench_smp.elf" "$P/guests/"
echo "$RUNS" >"$P/runs"
[ "$PIN" = 0 ] || echo 1 >"$P/pin"
cat >"$P/entry.sh" <<'EOS'
#!/bin/sh
# In L1: RUNS rounds (after one warm-up round, round 0) of the 1- and the
# 2-vCPU machine, the order alternating; one @@SMP line per run.
P=${P:-$(pwd)}
PIN=${PIN:-$(cat "$P/pin" 2>/dev/null || echo 0)}
QVM=${QVM:-$P/bin/qvm} TSTAMP=${TSTAMP:-$P/bin/tstamp}
GUESTS=${GUESTS:-$P/guests}
W=/tmp/bench-smp
mkdir -p "$W"
echo "@@SMP-BED cpus=$(grep -c '^processor' /proc/cpuinfo) kernel=$(uname -r) pinned=$PIN"
for c in 1 2; do
    sh "$P/bin/smp-qvmconf.sh" $c "$PIN" "$GUESTS" >"$W/smp$c.qvmconf"
done
r=0
while [ $r -le "$(cat "$P/runs")" ]; do
    order="1 2"
    [ $((r % 2)) = 1 ] || order="2 1"
    for c in $order; do
        line=$("$TSTAMP" -t 600 -o "$W/out" -e "$W/err" -M @S -M @E -- "$QVM" "@$W/smp$c.qvmconf")
        ok=$?
        echo "@@SMP $c $r ok=$((ok == 0)) $line"
        # A failed run: the guest's output (bench_smp reports a CPU
        # exception there) and qvm's.
        [ $ok = 0 ] || { head -c 2000 "$W/out"; head -c 1000 "$W/err"; }
    done
    r=$((r + 1))
done
EOS
chmod +x "$P/entry.sh"
"$ROOT/tests/lab/lab-run" --smp "$L1CPUS" --timeout $((600 + RUNS * 300)) "$P" |
    tee "$W/console" | grep -a '^@@SMP' >&2 || echo "smp.sh: lab-run failed" >&2
[ -z "$RAW" ] || grep -a '^@@SMP' "$W/console" >"$RAW" || true
[ -z "$CONSOLE" ] || cp "$W/console" "$CONSOLE"
fi
out=$W/console
grep -a '^@@SMP' "$out" | awk '
function med(a, n,   i, j, t) {
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^@@SMP-BED/ { bed = $0; sub(/^@@SMP-BED /, "", bed) }
/^@@SMP / && $3 > 0 && $4 == "ok=1" {
    m1 = m2 = ""
    for (i = 5; i <= NF; i++) {
        if ($i ~ /^mark1_ms=/) m1 = substr($i, 10) + 0
        if ($i ~ /^mark2_ms=/) m2 = substr($i, 10) + 0
    }
    if (m1 == "" || m2 == "" || m2 <= m1) next
    rate = $2 * 100000 / ((m2 - m1) / 1000)
    k = $2; n[k]++; v[k, n[k]] = rate; byround[k, $3] = rate
    rounds[$3] = 1
}
END {
    printf "bed: L1 %s\n", bed
    for (k = 1; k <= 2; k++) {
        for (i = 1; i <= n[k]; i++) a[i] = v[k, i]
        m[k] = n[k] ? med(a, n[k]) : 0
        printf "%d vCPU(s): %d runs, median %.0f exits/s\n", k, n[k], m[k]
    }
    if (m[1] > 0) printf "ratio of the medians (2 vCPUs / 1): %.2f\n", m[2] / m[1]
    c = 0
    for (r in rounds) if (byround[1, r] && byround[2, r]) { c++; pr[c] = byround[2, r] / byround[1, r] }
    if (c) printf "median of the per-round ratios: %.2f (%d rounds)\n", med(pr, c), c
    for (k = 1; k <= 2; k++) {
        printf "%d vCPU(s), exits/s by round:", k
        for (r = 1; r in rounds || r <= 1; r++) if (byround[k, r]) printf " %.0f", byround[k, r]
        printf "\n"
    }
}'
