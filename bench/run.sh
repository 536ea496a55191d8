#!/bin/bash
# run.sh: qvm's benchmark suite (bench/README.md): start-up, peak RSS and
# per-exit cost of qvm against QEMU (-enable-kvm, -M microvm and -M pc) and
# against bench/rawkvm (the floor), on the same bench guests in the same
# run, alternating the VMMs; then binary sizes and shared libraries. With
# --linux, instead: Debian's Linux booted by qvm and by QEMU -M microvm,
# and virtio-blk throughput (dd, 256 MiB, 1 MiB direct requests), in the
# nested lab. Prints a Markdown report and writes it into bench/README.md
# between the markers of its bed ("lab-linux" for --linux). Not part of
# the test suite's pass/fail.
#
# Usage: bench/run.sh [--runs N] [--bed host|lab|auto] [--build DIR]
#                     [--linux] [--no-readme] [--raw FILE] [--console FILE]
#                     [--from-console FILE] [--qvm2 BIN NAME]
#        bench/run.sh --linux-arm64 [--runs N] [--build DIR] [--console FILE]
#        bench/run.sh --vfio [--runs N] [--rounds N] [--build DIR] [--console FILE]
#        bench/run.sh --density [--rounds R] [--counts "1 8 64"] [--bed B] ...
#        bench/run.sh --net [--rounds N] [--reps N] [--bytes N] [--build DIR] [--console FILE]
#   --runs N      timed runs per VMM and test (default 10 on host, 5 in
#                 lab, 3 with --linux)
#   --bed B       host: this machine's /dev/kvm; lab: everything inside one
#                 nested-lab L1 (tests/lab/), ratios only; auto (default):
#                 host when tools/kvm-probe says /dev/kvm is usable
#   --build DIR   the qvm build directory (default: build)
#   --linux       the Linux benchmarks (issue 7 items 5, 6); lab bed only
#   --linux-arm64 (first) Debian's arm64 kernel to its init under qvm and
#                 under QEMU -M virt -enable-kvm in the aarch64 lab
#                 (bench/arm64-boot.sh; --build defaults to build-arm64)
#   --vfio        (first) edu passed through to Debian's Linux under qvm
#                 and under QEMU -device vfio-pci in the IOMMU lab
#                 (bench/vfio.sh)
#   --density     (first) N bench_hold guests started at once (N = 1, 8,
#                 64) under qvm and under QEMU -M microvm: time to the
#                 last marker, summed RSS/PSS (bench/density.sh, its
#                 options; host bed or lab)
#   --net         (first) virtio-net throughput and TCP round trips, qvm
#                 against QEMU (tap, vhost=off/on; guest to guest) in the
#                 lab (bench/net.sh)
#   --no-readme   print the report only
#   --raw FILE    keep measure.sh's raw lines in FILE
#   --console FILE  keep the L1 console (lab) in FILE
#   --from-console FILE  no measuring: the report from a kept L1 console
#                 (the versions shown are then this tree's and build's)
#   --qvm2 BIN NAME  also measure the qvm binary BIN, a variant
#                 (a candidate fix) called NAME in the report; BIN may be
#                 a /bin/sh script that execs the qvm next to it (it is
#                 copied next to qvm in the payload), e.g. bench/qvm-split
# Environment (lab): BOOT_VMMS EXITS_VMMS LBOOT_VMMS BLK_VMMS TESTS AIO
# WARMUP TIMEOUT LOG pass through to measure.sh in L1 (e.g. TESTS=lboot:
# the Linux boot only, LBOOT_VMMS='qvm qvm2 microvm').
set -euo pipefail
# The whole script is one compound command, read before it runs: editing
# this file during a (long) run cannot derail that run.
{
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
RUNS='' BED=auto BUILD=$ROOT/build README=1 RAW='' LINUX=0 CONSOLE='' FROM='' QVM2='' QVM2_NAME=
usage() {
    sed -n '/^# Usage:/,/^#   --from-console/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}
if [ "${1:-}" = --linux-arm64 ]; then
    shift
    exec bash "$BENCH/arm64-boot.sh" "$@"
fi
if [ "${1:-}" = --vfio ]; then
    shift
    exec bash "$BENCH/vfio.sh" "$@"
fi
if [ "${1:-}" = --density ]; then
    shift
    exec bash "$BENCH/density.sh" "$@"
fi
if [ "${1:-}" = --net ]; then
    shift
    exec bash "$BENCH/net.sh" "$@"
fi
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --bed) BED=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --linux) LINUX=1; shift ;;
    --no-readme) README=0; shift ;;
    --raw) RAW=$2; shift 2 ;;
    --console) CONSOLE=$2; shift 2 ;;
    --qvm2) QVM2=$(realpath "$2") QVM2_NAME=$3; shift 3 ;;
    --from-console) FROM=$(realpath "$2"); BED=lab; shift 2 ;;
    *) usage ;;
    esac
done
case $BED in host | lab | auto) ;; *) usage ;; esac

DATE=''
W=$(mktemp -d "${TMPDIR:-/tmp}/qvm-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
say() { echo "bench: $*" >&2; }

# ---- build: qvm, the guests, and the two helpers ----
ninja -C "$BUILD" >&2 || say "warning: ninja failed; using what is built"
mkdir -p "$W/bin" "$W/guests" "$W/work"
HCFLAGS=(-std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror)
for p in tstamp rawkvm; do
    if [ -x "$BUILD/bench/$p" ]; then
        cp "$BUILD/bench/$p" "$W/bin/$p"
    else
        cc "${HCFLAGS[@]}" -o "$W/bin/$p" "$BENCH/$p.c"
    fi
done
# shellcheck disable=SC2054 # the commas are in -Wl, options
GFLAGS=(-m32 -march=i686 -ffreestanding -nostdlib -fno-pic -no-pie -static
    -fno-stack-protector -O2 -mgeneral-regs-only
    -fno-asynchronous-unwind-tables -fcf-protection=none -Wall -Wextra
    -Werror -Wl,--build-id=none -Wl,-z,noexecstack)
G=$ROOT/tests/guests
for g in bench_boot bench_exits bench_mem; do
    if [ -f "$BUILD/tests/guests/$g.elf" ]; then
        cp "$BUILD/tests/guests/$g.elf" "$W/guests/"
    else
        cc "${GFLAGS[@]}" -T "$G/guest.ld" -o "$W/guests/$g.elf" \
            "$G/boot.S" "$G/$g.c"
    fi
done
cp "$BUILD/qvm" "$W/bin/qvm"
[ -z "$QVM2" ] || cp "$QVM2" "$W/bin/qvm2"
QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || say "warning: no qemu-system-x86_64: QEMU rows skipped"

if [ "$LINUX" = 1 ]; then
    # kvm_pvm cannot run stock kernels (tests/realguests/README.md).
    [ "$BED" != host ] || { say "--linux runs in the lab only"; exit 2; }
    BED=lab
    [ -n "$QEMU" ] || { say "--linux needs qemu-system-x86_64"; exit 2; }
fi
if [ "$BED" = auto ]; then
    BED=lab
    probe=$BUILD/tools/kvm-probe
    [ -x "$probe" ] || { cc -O2 -o "$W/kvm-probe" "$ROOT/tools/kvm-probe.c" &&
        probe=$W/kvm-probe; }
    "$probe" -q && BED=host
fi
[ -n "$RUNS" ] || [ "$LINUX" = 0 ] || RUNS=3
[ -n "$RUNS" ] || { [ "$BED" = host ] && RUNS=10 || RUNS=5; }
say "bed $BED, $RUNS runs per VMM and test"

# ---- measure ----
if [ -n "$FROM" ]; then
    cp "$FROM" "$W/console"
    grep '^@@BENCH ' "$W/console" >"$W/raw" || true
    RUNS=$(awk '$4 > m { m = $4 } END { print m + 0 }' "$W/raw")
    DATE=$(date -u -r "$FROM" '+%Y-%m-%d %H:%M UTC')
    grep '^@@BENCH-OUT ' "$W/console" >"$W/out" || true
    KERNEL="L1 $(sed -n 's/^@@BENCH-KERNEL //p' "$W/console" | head -1)"
    KERNEL="$KERNEL under QEMU TCG on $(uname -r)"
elif [ "$BED" = host ]; then
    q2=''
    [ -z "$QVM2" ] || q2=$W/bin/qvm2
    TSTAMP=$W/bin/tstamp RAWKVM=$W/bin/rawkvm QVM=$W/bin/qvm QEMU=$QEMU \
        QVM2=$q2 GUESTS=$W/guests WORK=$W/work sh "$BENCH/measure.sh" "$RUNS" |
        tee "$W/raw" | sed 's/^/bench: /' >&2
    KERNEL=$(uname -r)
else
    P=$W/payload
    mkdir -p "$P/fw"
    cp -r "$W/bin" "$W/guests" "$P/"
    cp "$BENCH/measure.sh" "$P/"
    if [ "$LINUX" = 1 ]; then
        sh "$BENCH/linux-guests.sh" "$P/lguests" 2>/dev/null ||
            { say "cannot build the Linux guest (bench/linux-guests.sh)"; exit 1; }
        # shellcheck disable=SC2016 # expanded in L1, where P is the payload
        printf '%s\n' "export TESTS='lboot blk-mmio blk-pci'" \
            'export LGUESTS=$P/lguests DISK=/dev/ram0 TIMEOUT=300 WATCHDOG=1' >"$P/env"
    fi
    # shellcheck disable=SC2016 # expanded in L1
    [ -z "$QVM2" ] || echo 'export QVM2=$P/bin/qvm2' >>"$P/env"
    if [ -n "$QEMU" ]; then
        cp "$QEMU" "$P/bin/qemu-system-x86_64"
        for f in qboot.rom bios-microvm.bin bios-256k.bin multiboot_dma.bin \
            multiboot.bin linuxboot_dma.bin linuxboot.bin pvh.bin \
            kvmvapic.bin; do
            for d in /usr/share/qemu /usr/share/seabios; do
                [ -e "$d/$f" ] && cp -L "$d/$f" "$P/fw/" && break
            done
        done
    fi
    cat >"$P/entry.sh" <<'EOF'
#!/bin/sh
# The benchmark inside L1: measure.sh with the payload's programs.
P=$(pwd)
Q=''
[ -x "$P/bin/qemu-system-x86_64" ] && Q=$P/bin/qemu-system-x86_64
mkdir -p /tmp/bench-work
[ -f "$P/env" ] && . "$P/env"
echo "@@BENCH-KERNEL $(uname -r)"
[ -f "$P/version" ] && echo "@@BENCH-VERSION $(cat "$P/version")"
if [ -n "${LGUESTS:-}" ]; then
    # The Linux benchmarks' disk: a 260 MiB RAM disk (brd, O_DIRECT works
    # on it, unlike on L1's ramfs root), written once so that its pages
    # exist before anything is timed.
    insmod "$LGUESTS/l1/brd.ko" rd_nr=1 rd_size=266240 max_part=0 ||
        echo "@@BENCH-ERR brd: insmod failed"
    dd if=/dev/zero of=/dev/ram0 bs=1M count=260 2>/dev/null ||
        echo "@@BENCH-ERR brd: cannot write /dev/ram0"
fi
TSTAMP=$P/bin/tstamp RAWKVM=$P/bin/rawkvm QVM=$P/bin/qvm QEMU=$Q \
    QEMU_FW=$P/fw GUESTS=$P/guests WORK=/tmp/bench-work \
    sh "$P/measure.sh" "$(cat "$P/runs")"
EOF
    chmod +x "$P/entry.sh"
    echo "$RUNS" >"$P/runs"
    # The versions measured, for a report made later (--from-console).
    echo "$("$W/bin/qvm" --version 2>&1 | head -1) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))" >"$P/version"
    # Optional VMM lists (measure.sh) pass through to L1.
    for v in BOOT_VMMS EXITS_VMMS LBOOT_VMMS BLK_VMMS TESTS AIO WARMUP TIMEOUT LOG; do
        [ -z "${!v:-}" ] || echo "export $v='${!v}'" >>"$P/env"
    done
    limit=3000
    [ "$LINUX" = 1 ] && limit=$((1200 + RUNS * 1200))
    # lab-run's stdout: L1's console as it arrives, with lab-run's own
    # messages in between, among them "lab-run: L1 stalled with IRR ...":
    # QEMU 7.2's TCG left L1 stalled with an interrupt pending, and lab-run
    # pressed a key to wake it (tests/lab/README.md). The run in progress
    # then is not a measurement: it is marked failed (stalled=1).
    "$ROOT/tests/lab/lab-run" --timeout "$limit" "$P" >"$W/labout" ||
        say "warning: lab-run exit status $?"
    awk '/^lab-run: L1 stalled with IRR/ { stall = 1 }
        /^@@BENCH / && stall { sub(/ ok=1 /, " ok=0 "); $0 = $0 " stalled=1"; stall = 0 }
        { print }' "$W/labout" >"$W/console"
    n=$(grep -c 'stalled=1' "$W/console" || true)
    [ "$n" = 0 ] || say "L1 stalled (and was woken by lab-run) during $n run(s): not counted"
    [ -z "$CONSOLE" ] || cp "$W/console" "$CONSOLE"
    grep '^@@BENCH ' "$W/console" >"$W/raw" || true
    grep '^@@BENCH-OUT ' "$W/console" >"$W/out" || true
    grep -A$((LINUX ? 30 : 4)) '^@@BENCH-ERR' "$W/console" | head -200 >&2 || true
    KERNEL="L1 $(sed -n 's/^@@BENCH-KERNEL //p' "$W/console" | head -1)"
    KERNEL="$KERNEL under QEMU TCG on $(uname -r)"
fi
[ -z "$RAW" ] || cp "$W/raw" "$RAW"

# ---- sizes and libraries (item 4), host binaries ----
sizes() {
    local name=$1 bin=$2 s
    cp "$bin" "$W/stripped"
    strip "$W/stripped"
    s=$(stat -c %s "$W/stripped")
    printf '| %s | %d | %d | %d |\n' "$name" "$(stat -c %s "$bin")" "$s" \
        "$(ldd "$bin" | grep -c '=> /\|^[[:space:]]*/')"
}

# ---- report ----
QV=$("$W/bin/qvm" --version 2>&1 | head -1)
QMV=$([ -n "$QEMU" ] && "$QEMU" --version | head -1 || echo none)
if [ "$LINUX" = 1 ]; then
    {
        echo "Command: \`bench/run.sh --linux --runs $RUNS\`, ${DATE:-$(date -u '+%Y-%m-%d %H:%M UTC')}."
        echo "Bed: $BED (one nested-lab L1: emulated time, only the ratios mean something); kernel $KERNEL."
        V=$(sed -n 's/^@@BENCH-VERSION //p' "$W/console" | head -1)
        [ -n "$V" ] || V="$QV ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
        echo "Versions: $V; $QMV; guest kernel $(sed -n 's/^@@BENCH-KERNEL //p' "$W/console" | head -1) (Debian)."
        echo
        awk -v qvm2="$QVM2_NAME" -f "$BENCH/summarize.awk" "$W/raw"
        echo
        echo "The guest's view of the disk (first measured run of each):"
        echo
        awk '$5 ~ /^@@BLK-DEV/ && $4 != 0 && !seen[$2 " " $3]++ {
            printf "- %s, %s:", $2, $3; for (i = 6; i <= NF; i++) printf " %s", $i; print "" }' "$W/out"
    } >"$W/report"
    cat "$W/report"
    [ "$README" = 1 ] || exit 0
    BED='lab-linux'
else
{
    echo "Command: \`bench/run.sh --bed $BED --runs $RUNS\`, $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Bed: $BED ($([ "$BED" = host ] && echo "this machine's /dev/kvm" || echo 'one nested-lab L1, ratios only')); kernel $KERNEL."
    echo "Versions: $QV ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')); $QMV."
    echo
    if [ "$BED" = host ]; then
        awk -v qvm2="$QVM2_NAME" -f "$BENCH/summarize.awk" "$W/raw"
    else
        awk -v ratios=1 -v qvm2="$QVM2_NAME" -f "$BENCH/summarize.awk" "$W/raw"
    fi
    echo
    echo "| binary | size (bytes) | stripped (bytes) | shared libraries (ldd) |"
    echo "|---|---|---|---|"
    sizes qvm "$BUILD/qvm"
    sizes rawkvm "$W/bin/rawkvm"
    [ -z "$QEMU" ] || sizes "$(basename "$QEMU")" "$QEMU"
} >"$W/report"
cat "$W/report"

[ "$README" = 1 ] || exit 0
fi
begin="<!-- bench results: $BED -->" end="<!-- end bench results: $BED -->"
if ! grep -qF "$begin" "$BENCH/README.md"; then
    say "warning: no '$begin' marker in bench/README.md; not written"
    exit 0
fi
awk -v b="$begin" -v e="$end" -v f="$W/report" '
    $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
    $0 == e { skip = 0 }
    !skip' "$BENCH/README.md" >"$W/readme"
cp "$W/readme" "$BENCH/README.md"
say "results written to bench/README.md ($BED)"
exit 0
}
