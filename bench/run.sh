#!/bin/bash
# run.sh: qvm's benchmark suite (bench/README.md): start-up, peak RSS and
# per-exit cost of qvm against QEMU (-enable-kvm, -M microvm and -M pc) and
# against bench/rawkvm (the floor), on the same bench guests in the same
# run, alternating the VMMs; then binary sizes and shared libraries.
# Prints a Markdown report and writes it into bench/README.md between the
# markers of its bed. Not part of the test suite's pass/fail.
#
# Usage: bench/run.sh [--runs N] [--bed host|lab|auto] [--build DIR]
#                     [--no-readme] [--raw FILE]
#   --runs N      timed runs per VMM and test (default 10 on host, 5 in lab)
#   --bed B       host: this machine's /dev/kvm; lab: everything inside one
#                 nested-lab L1 (tests/lab/), ratios only; auto (default):
#                 host when tools/kvm-probe says /dev/kvm is usable
#   --build DIR   the qvm build directory (default: build)
#   --no-readme   print the report only
#   --raw FILE    keep measure.sh's raw lines in FILE
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
RUNS='' BED=auto BUILD=$ROOT/build README=1 RAW=''
usage() {
    sed -n '/^# Usage:/,/^#   --raw/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --bed) BED=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --no-readme) README=0; shift ;;
    --raw) RAW=$2; shift 2 ;;
    *) usage ;;
    esac
done
case $BED in host | lab | auto) ;; *) usage ;; esac

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
for g in bench_boot bench_exits; do
    if [ -f "$BUILD/tests/guests/$g.elf" ]; then
        cp "$BUILD/tests/guests/$g.elf" "$W/guests/"
    else
        cc "${GFLAGS[@]}" -T "$G/guest.ld" -o "$W/guests/$g.elf" \
            "$G/boot.S" "$G/$g.c"
    fi
done
cp "$BUILD/qvm" "$W/bin/qvm"
QEMU=$(command -v qemu-system-x86_64 || true)
[ -n "$QEMU" ] || say "warning: no qemu-system-x86_64: QEMU rows skipped"

if [ "$BED" = auto ]; then
    BED=lab
    probe=$BUILD/tools/kvm-probe
    [ -x "$probe" ] || { cc -O2 -o "$W/kvm-probe" "$ROOT/tools/kvm-probe.c" &&
        probe=$W/kvm-probe; }
    "$probe" -q && BED=host
fi
[ -n "$RUNS" ] || { [ "$BED" = host ] && RUNS=10 || RUNS=5; }
say "bed $BED, $RUNS runs per VMM and test"

# ---- measure ----
if [ "$BED" = host ]; then
    TSTAMP=$W/bin/tstamp RAWKVM=$W/bin/rawkvm QVM=$W/bin/qvm QEMU=$QEMU \
        GUESTS=$W/guests WORK=$W/work sh "$BENCH/measure.sh" "$RUNS" |
        tee "$W/raw" | sed 's/^/bench: /' >&2
    KERNEL=$(uname -r)
else
    P=$W/payload
    mkdir -p "$P/fw"
    cp -r "$W/bin" "$W/guests" "$P/"
    cp "$BENCH/measure.sh" "$P/"
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
TSTAMP=$P/bin/tstamp RAWKVM=$P/bin/rawkvm QVM=$P/bin/qvm QEMU=$Q \
    QEMU_FW=$P/fw GUESTS=$P/guests WORK=/tmp/bench-work \
    sh "$P/measure.sh" "$(cat "$P/runs")"
EOF
    chmod +x "$P/entry.sh"
    echo "$RUNS" >"$P/runs"
    # Optional VMM lists (measure.sh) pass through to L1.
    for v in BOOT_VMMS EXITS_VMMS; do
        [ -z "${!v:-}" ] || echo "export $v='${!v}'" >>"$P/env"
    done
    "$ROOT/tests/lab/lab-run" --timeout 3000 --log "$W/console" "$P" \
        >/dev/null || say "warning: lab-run exit status $?"
    grep '^@@BENCH ' "$W/console" >"$W/raw" || true
    grep -A4 '^@@BENCH-ERR' "$W/console" | head -40 >&2 || true
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
{
    echo "Command: \`bench/run.sh --bed $BED --runs $RUNS\`, $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Bed: $BED ($([ "$BED" = host ] && echo "this machine's /dev/kvm" || echo 'one nested-lab L1, ratios only')); kernel $KERNEL."
    echo "Versions: $QV ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')); $QMV."
    echo
    if [ "$BED" = host ]; then
        awk -f "$BENCH/summarize.awk" "$W/raw"
    else
        awk -v ratios=1 -f "$BENCH/summarize.awk" "$W/raw"
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
