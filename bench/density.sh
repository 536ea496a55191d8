#!/bin/bash
# density.sh: density, qvm against QEMU -M microvm (bench/README.md
# "Density"; issue 18 item 6). For N in COUNTS (1 8 64), N copies of the
# bench_hold guest (bench_boot's "@U" marker, then held at hlt) are started
# at once by bench/density (one process forking them all, each VMM's stdout
# on its own pipe, all pipes polled for the marker): the wall time from the
# first fork to the last marker; then, every guest sitting at hlt, the sum
# of the VMM processes' RSS and PSS (/proc/PID/smaps_rollup) and the drop
# of the bed's MemAvailable; then all are killed and reaped. Guest RAM is
# the same for both VMMs, MIB MiB (default 2: the least QEMU microvm boots
# the guest with, see bench/README.md): qvm `ram 0,0xa0000` + `ram
# 1m,MIB-1m`, QEMU -m MIBM. The order of the VMMs alternates each round.
#
#     bench/density.sh [--rounds R] [--counts "1 8 64"] [--mib M]
#                      [--vmms "qvm microvm"] [--bed host|lab|auto]
#                      [--l1-mem MiB] [--build DIR] [--raw FILE]
#                      [--console FILE] [--qvm2 BIN]
#     bench/density.sh --from FILE      (the summary of a kept --raw or
#                                        --console file)
#     bench/density.sh --payload DIR [options]   (only write the payload
#         to DIR: run DIR/entry.sh there on any bed, e.g. a host with
#         /dev/kvm: cd DIR && sh entry.sh)
#
#   --vmms      qvm, microvm (QEMU), qvm-small (qvm with `set ram-pages
#               small`), qvm2 (the binary of --qvm2, a candidate fix)
#   --bed       host: this machine's /dev/kvm, no lab; lab: one nested-lab
#               L1 (tests/lab/lab-run, --smp 1, --mem from --l1-mem);
#               auto (default): host when tools/kvm-probe says /dev/kvm is
#               usable
#   --l1-mem    L1's RAM in MiB (default 2048 + 16 MiB per guest of the
#               largest count: a QEMU microvm guest costs L1 about 14 MiB,
#               bench/README.md)
#
# Prints one @@DENSITY line per run, the per-mapping RSS of one guest
# (@@DMAP: the largest of every qvm run, QEMU's in its N=1 run of round
# 1), and a summary (medians
# per VMM and N, per guest, and the ratios qvm : microvm). Not part of the
# test suite's pass/fail.
set -eu
{
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=3 COUNTS='1 8 64' MIB=2 VMMS='qvm microvm' BED=auto L1MEM='' BUILD=$ROOT/build
RAW='' CONSOLE='' FROM='' QVM2='' PAYLOAD=''
usage() {
    sed -n '/^#     bench\/density.sh \[--rounds/,/^#   --l1-mem/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --counts) COUNTS=$2; shift 2 ;;
    --mib) MIB=$2; shift 2 ;;
    --vmms) VMMS=$2; shift 2 ;;
    --bed) BED=$2; shift 2 ;;
    --l1-mem) L1MEM=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --raw) RAW=$2; shift 2 ;;
    --console) CONSOLE=$2; shift 2 ;;
    --qvm2) QVM2=$(realpath "$2"); shift 2 ;;
    --from) FROM=$(realpath "$2"); shift 2 ;;
    --payload) PAYLOAD=$2; shift 2 ;;
    *) usage ;;
    esac
done
case $BED in host | lab | auto) ;; *) usage ;; esac
say() { echo "density: $*" >&2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/qvm-density.XXXXXX")
trap 'rm -rf "$W"' EXIT

if [ -n "$FROM" ]; then
    cp "$FROM" "$W/console"
else
ninja -C "$BUILD" qvm bench/density tests/guests/bench_hold.elf >&2
P=$W/payload
mkdir -p "$P/bin" "$P/guests" "$P/fw"
cp "$BUILD/qvm" "$BUILD/bench/density" "$P/bin/"
cp "$BUILD/tests/guests/bench_hold.elf" "$P/guests/"
[ -z "$QVM2" ] || cp "$QVM2" "$P/bin/qvm2"
case " $VMMS " in
*" microvm "*)
    QEMU=$(command -v qemu-system-x86_64) || { say "no qemu-system-x86_64"; exit 2; }
    cp "$QEMU" "$P/bin/qemu-system-x86_64"
    for f in qboot.rom bios-microvm.bin multiboot_dma.bin multiboot.bin \
        linuxboot_dma.bin pvh.bin; do
        for d in /usr/share/qemu /usr/share/seabios; do
            [ -e "$d/$f" ] && cp -L "$d/$f" "$P/fw/" && break
        done
    done
    ;;
esac
printf '%s\n' "ROUNDS='$ROUNDS'" "COUNTS='$COUNTS'" "MIB='$MIB'" "VMMS='$VMMS'" >"$P/env"
echo "$("$P/bin/qvm" --version 2>&1 | head -1) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))" >"$P/version"
cat >"$P/entry.sh" <<'EOS'
#!/bin/sh
# In L1 (or on the host bed): ROUNDS rounds; in each, for every N of
# COUNTS, every VMM of VMMS once (the order rotating with the round), N
# copies at once under bench/density. One @@DENSITY line per run.
P=${P:-$(pwd)}
. "$P/env"
W=${WORK:-/tmp/bench-density}
mkdir -p "$W"
echo "@@DENSITY-BED kernel=$(uname -r) cpus=$(grep -c '^processor' /proc/cpuinfo) $(awk '/^MemTotal|^MemAvailable/ { printf "%s%d ", $1, $2 }' /proc/meminfo)thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null | sed 's/.*\[\(.*\)\].*/\1/')"
[ -f "$P/version" ] && echo "@@DENSITY-VERSION $(cat "$P/version")"
for v in qvm qvm-small qvm2; do
    {
        echo "# bench/density.sh: $MIB MiB of RAM, COM1 on stdout."
        echo "system density"
        echo "ram 0,0xa0000"
        echo "reserve loc 0xa0000,0x20000"
        echo "rom 0xc0000,0x40000"
        echo "ram 1m,$((MIB - 1))m"
        [ $v != qvm-small ] || echo "set ram-pages small"
        echo "cpu"
        echo "load $P/guests/bench_hold.elf"
        echo "vdev ser8250"
        echo "    hostdev >-"
    } >"$W/$v.qvmconf"
done
# cmd VMM: sets "$@" to VMM's command line.
cmd() {
    case $1 in
    qvm | qvm-small) set -- "$P/bin/qvm" "@$W/$1.qvmconf" ;;
    qvm2) set -- "$P/bin/qvm2" "@$W/qvm.qvmconf" ;;
    microvm)
        set -- "$P/bin/qemu-system-x86_64" -enable-kvm -M microvm -nodefaults \
            -no-user-config -nographic -serial stdio -m "${MIB}M" \
            -kernel "$P/guests/bench_hold.elf" \
            -device isa-debug-exit,iobase=0xf4,iosize=1 -L "$P/fw"
        ;;
    esac
    CMD=$*
}
nv=$(echo "$VMMS" | wc -w)
r=1
while [ $r -le "$ROUNDS" ]; do
    for n in $COUNTS; do
        k=0 order='' rest=''
        for v in $VMMS; do
            if [ $k -lt $((r % nv)) ]; then rest="$rest $v"; else order="$order $v"; fi
            k=$((k + 1))
        done
        for v in $order $rest; do
            cmd "$v"
            rm -rf "$W/err"
            mkdir -p "$W/err"
            # 64 QEMUs took over 900 s of host time in L1 on a loaded host
            echo "@@QVM-LAB WATCHDOG $((600 + n * 40))"
            # The mappings of the copy with the largest RSS: every qvm
            # run, QEMU's first (over 200 mappings).
            s=''
            case $v in qvm*) s="-s $W/smaps" ;; esac
            [ "$r$n" != 11 ] || s="-s $W/smaps"
            # shellcheck disable=SC2086 # CMD and s are words
            line=$("$P/bin/density" -n "$n" -t 600 -M @U -e "$W/err" $s -- $CMD)
            ok=$?
            echo "@@DENSITY $v $n $r ok=$((ok == 0)) mib=$MIB $line"
            if [ $ok != 0 ]; then
                echo "@@DENSITY-ERR $v $n $r: $CMD"
                head -c 1500 "$W/err/0"
            fi
            # One guest's mappings with resident pages: VMM N round
            # start-end perms size rss pss name.
            [ -z "$s" ] || [ ! -f "$W/smaps" ] || awk -v v="$v" -v n="$n" -v r="$r" '
                function out() { if (rss > 0) printf "@@DMAP %s %s %s %s %s %d %d %d %s\n", v, n, r, range, perms, size, rss, pss, name }
                /^[0-9a-f]+-[0-9a-f]+ / { out(); range = $1; perms = $2; name = $6 == "" ? "[anon]" : $6; for (i = 7; i <= NF; i++) name = name " " $i; size = rss = pss = 0; next }
                /^Size:/ { size = $2 } /^Rss:/ { rss = $2 } /^Pss:/ { pss = $2 }
                END { out() }' "$W/smaps"
            rm -f "$W/smaps"
        done
    done
    r=$((r + 1))
done
echo "@@QVM-LAB WATCHDOG 0"
EOS
chmod +x "$P/entry.sh"
if [ -n "$PAYLOAD" ]; then
    mkdir -p "$PAYLOAD"
    cp -r "$P/." "$PAYLOAD/"
    say "payload in $PAYLOAD"
    exit 0
fi

if [ "$BED" = auto ]; then
    BED=lab
    probe=$BUILD/tools/kvm-probe
    [ -x "$probe" ] || { cc -O2 -o "$W/kvm-probe" "$ROOT/tools/kvm-probe.c" && probe=$W/kvm-probe; }
    "$probe" -q && BED=host
fi
max=1
for n in $COUNTS; do [ "$n" -le "$max" ] || max=$n; done
if [ "$BED" = host ]; then
    say "host bed: $VMMS, counts $COUNTS, $ROUNDS rounds, $MIB MiB per guest"
    (cd "$P" && P=$P WORK=$W/work sh ./entry.sh) | tee "$W/console" | grep -a '^@@DENSITY ' >&2 || true
else
    [ -n "$L1MEM" ] || L1MEM=$((2048 + 16 * max))
    say "lab bed (L1 --smp 1 --mem $L1MEM): $VMMS, counts $COUNTS, $ROUNDS rounds, $MIB MiB per guest"
    "$ROOT/tests/lab/lab-run" --mem "$L1MEM" --timeout $((600 + ROUNDS * max * 50)) \
        "$P" >"$W/labout" || say "warning: lab-run exit status $?"
    # A run during which L1 stalled (lab-run woke it) is not a measurement.
    awk '/^lab-run: L1 stalled/ { stall = 1 }
        /^@@DENSITY / && stall { sub(/ ok=1 /, " ok=0 "); $0 = $0 " stalled=1"; stall = 0 }
        { print }' "$W/labout" >"$W/console"
    grep -a '^@@DENSITY \|^lab-run:' "$W/console" >&2 || true
fi
[ -z "$CONSOLE" ] || cp "$W/console" "$CONSOLE"
[ -z "$RAW" ] || grep -a '^@@D' "$W/console" >"$RAW" || true
fi

grep -a -A3 '^@@DENSITY-ERR' "$W/console" >&2 || true
grep -a '^@@D' "$W/console" | awk '
function med(a, n,   i, j, t) {
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function val(k,   i) { for (i = 5; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
/^@@DENSITY-BED / { sub(/^@@DENSITY-BED /, ""); bed = $0; next }
/^@@DENSITY-VERSION / { sub(/^@@DENSITY-VERSION /, ""); ver = $0; next }
/^@@DMAP / { next }
/^@@DENSITY / {
    v = $2; n = $3
    if (!(v in seenv)) { seenv[v] = 1; vs[++nvs] = v }
    if (!((n + 0) in seenn)) { seenn[n + 0] = 1; ns[++nns] = n + 0 }
    mib = val("mib")
    # A run during which L1 stalled still measures memory; its time
    # includes the stall (about 2 s each): counted, and said.
    if ($5 != "ok=1" && $NF != "stalled=1") { bad[v, n]++; next }
    if ($NF == "stalled=1") st[v, n]++
    c = ++cnt[v, n]
    T[v, n, c] = val("last_ms"); R[v, n, c] = val("rss_kb"); S[v, n, c] = val("pss_kb")
    D[v, n, c] = val("avail_drop_kb"); G[v, n, c] = val("gone_ms"); H[v, n, c] = val("threads")
}
function m(arr, v, n,   i, a) { for (i = 1; i <= cnt[v, n]; i++) a[i] = arr[v, n, i]; return cnt[v, n] ? med(a, cnt[v, n]) : -1 }
END {
    printf "Bed: %s.\nVersions: %s. Guest RAM: %s MiB each.\n\n", bed, ver, mib
    print "| VMM | N | runs (failed, stalled) | all markers (ms) | RSS total (MiB) | PSS total (MiB) | MemAvailable drop (MiB) | per guest: RSS / PSS / drop (MiB) | threads | kill to gone (ms) |"
    print "|---|---|---|---|---|---|---|---|---|---|"
    for (j = 1; j <= nns; j++) for (i = 1; i <= nvs; i++) {
        v = vs[i]; n = ns[j]
        if (!cnt[v, n] && !bad[v, n]) continue
        t = m(T, v, n); r = m(R, v, n) / 1024; s = m(S, v, n) / 1024; d = m(D, v, n) / 1024
        mt[v, n] = t; mr[v, n] = r; ms[v, n] = s; md[v, n] = d
        printf "| %s | %d | %d (%d, %d) | %.1f | %.1f | %.1f | %.1f | %.2f / %.2f / %.2f | %d | %.1f |\n", v, n, cnt[v, n], bad[v, n], st[v, n], t, r, s, d, r / n, s / n, d / n, m(H, v, n) / n, m(G, v, n)
    }
    print ""
    print "| VMM : microvm | N | time | RSS | PSS | MemAvailable drop |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= nvs; i++) for (j = 1; j <= nns; j++) {
        v = vs[i]; n = ns[j]
        if (v == "microvm" || !cnt[v, n] || !cnt["microvm", n]) continue
        printf "| %s | %d | %.3f | %.3f | %.3f | %.3f |\n", v, n, mt[v, n] / mt["microvm", n], mr[v, n] / mr["microvm", n], ms[v, n] / ms["microvm", n], (md["microvm", n] > 0 ? md[v, n] / md["microvm", n] : -1)
    }
    print ""
    print "Growth from N = " ns[1] " (median time, RSS, PSS at N / at " ns[1] "):"
    for (i = 1; i <= nvs; i++) {
        v = vs[i]; line = ""
        for (j = 2; j <= nns; j++) if (mt[v, ns[1]] > 0 && cnt[v, ns[j]])
            line = line sprintf(" N=%d: %.2fx time, %.2fx RSS, %.2fx PSS;", ns[j], mt[v, ns[j]] / mt[v, ns[1]], mr[v, ns[j]] / mr[v, ns[1]], ms[v, ns[j]] / ms[v, ns[1]])
        print "- " v ":" line
    }
}'
grep -a '^@@DMAP ' "$W/console" | awk '
    { k = $2 " N=" $3 " round " $4; if (!(k in rss)) ks[++nk] = k
      rss[k] += $8; pss[k] += $9; name = $10; for (i = 11; i <= NF; i++) name = name " " $i
      printf "%s %s size=%dk rss=%dk pss=%dk %s\n", k, $6, $7, $8, $9, name }
    END { for (i = 1; i <= nk; i++) printf "%s: %d KiB resident, %d KiB proportional (its largest guest)\n", ks[i], rss[ks[i]], pss[ks[i]] }' |
    sed 's/^/mapping: /'
exit 0
}
