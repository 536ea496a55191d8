# bench/lib.sh: what the lab benchmarks that run a Linux guest under qvm and
# QEMU inside one L1 share (bench/net.sh, bench/vfio.sh; sourced by bash).
# The caller has set ROOT, W (its scratch directory) and say().

# BENCH_MEDIAN_AWK: an awk function median(k), the median of v[k, 1..n[k]];
# put it in front of a program: awk "$BENCH_MEDIAN_AWK"'...'.
BENCH_MEDIAN_AWK='
function median(k,   m, a, j, x, i) {
    m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i]
    for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
'

# bench_mark TAG CONSOLE: $W/console is CONSOLE with stalled=N added to each
# "@@BENCH TAG" line: the lab-run wake-ups of a stalled L1
# (tests/lab/README.md) since the line before.
bench_mark() {
    awk -v tag="@@BENCH $1 " '/^lab-run: L1 stalled with IRR/ { st++ }
        index($0, tag) == 1 { $0 = $0 " stalled=" st + 0; st = 0 }
        { print }' "$2" >"$W/console"
}

# bench_payload fresh|ifmissing BUILD FIRMWARE...: $P (= $W/payload) with
# bin/qvm and bin/qemu-system-x86_64 (QEMU from PATH, $QEMU) and QEMU's
# FIRMWARE files in fw/; $RG holds the real guests
# (tests/realguests/prepare.sh: run each time with fresh, else only when
# they are missing).
bench_payload() {
    _when=$1 _build=$2
    shift 2
    QEMU=$(command -v qemu-system-x86_64) || { say "needs qemu-system-x86_64"; exit 2; }
    RG=${QVM_REALGUESTS:-${XDG_CACHE_HOME:-$HOME/.cache}/qvm-realguests}
    if [ "$_when" = fresh ] || [ ! -f "$RG/vmlinuz" ] ||
        [ ! -f "$RG/initramfs-virtio.cpio.gz" ]; then
        "$ROOT/tests/realguests/prepare.sh" "$RG" >"$W/prepare.log" 2>&1 ||
            { cat "$W/prepare.log" >&2; say "tests/realguests/prepare.sh failed"; exit 1; }
    fi
    P=$W/payload
    mkdir -p "$P/bin" "$P/fw" "$P/guests"
    cp "$_build/qvm" "$P/bin/qvm"
    cp "$QEMU" "$P/bin/qemu-system-x86_64"
    for _f in "$@"; do
        for _d in /usr/share/qemu /usr/share/seabios; do
            [ -e "$_d/$_f" ] && cp -L "$_d/$_f" "$P/fw/" && break
        done
    done
}

# bench_cg_cost ANNOTATE FUNCTION: FUNCTION's count in callgrind_annotate's
# output ANNOTATE (the function name is the last field before '['), or
# nothing (bench/exitpath.sh, bench/netpath.sh).
bench_cg_cost() {
    printf '%s\n' "$1" | awk -v f="$2" '
        /%\)/ { for (i = 2; i <= NF; i++)
                     if ($i ~ /:/ && $i !~ /%/) {
                         name = $i; sub(/.*:/, "", name)
                         if (name == f) { gsub(/,/, "", $1); print $1; exit }
                         break } }'
}
