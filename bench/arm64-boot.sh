#!/bin/bash
# arm64-boot.sh: the boot time of Debian's arm64 kernel to its init (the
# busybox init's "QVM-ARM64-INIT" line, tests/realguests/prepare-arm64.sh)
# under qvm (build-arm64/qvm: GICv3, one PL011) against QEMU's `-M virt
# -enable-kvm` (Debian's qemu-system-aarch64 for arm64), both inside the
# same aarch64 lab L1 (tests/lab/lab-run --arch aarch64), alternating runs
# (odd rounds qvm first, even rounds QEMU first): same kernel, same command
# line, same initramfs, the console on the PL011 for both, 1 vCPU, 256 MiB.
# QEMU and its libraries are the arm64 packages (apt-get download of
# qemu-system-arm:arm64 and the packages of every library it needs, closed
# over DT_NEEDED), unpacked into a cache and run in L1 by the arm64
# ld-linux (L1 has no libc). Times come from bench/tstamp (cross-built
# static): from just before fork to the marker on the VMM's stdout.
# Prints one "@@BENCH arm64-boot VMM ROUND init_ms=... exit_ms=..." line
# per run and the medians with the ratio.
#
# Usage: bench/arm64-boot.sh [--runs N] [--build DIR] [--console FILE] [--log]
#                            [--from-console FILE]
# (--log: every run's console on L1's, "@@BENCH-OUT VMM ROUND LINE";
# --from-console: no run, the report of a kept L1 console)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=5 BUILD=$ROOT/build-arm64 CONSOLE='' LOG=0 FROM=''
while [ $# -gt 0 ]; do
    case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --console) CONSOLE=$2; shift 2 ;;
    --log) LOG=1; shift ;;
    --from-console) FROM=$(realpath "$2"); shift 2 ;;
    *) sed -n 's/^# Usage: //p' "$0" >&2; exit 2 ;;
    esac
done
say() { echo "arm64-boot: $*" >&2; }
[ -x "$BUILD/qvm" ] || { say "no $BUILD/qvm (meson setup build-arm64 --cross-file cross/aarch64-linux-gnu.txt)"; exit 2; }
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/qvm-bench-arm64
W=$(mktemp -d "${TMPDIR:-/tmp}/arm64-boot.XXXXXX")
trap 'rm -rf "$W"' EXIT

# report: the runs and medians from the L1 console in $W/console.
report() {
    grep -E '^@@BENCH(-KERNEL)? ' "$W/console" || true
    grep -A20 '^@@BENCH-ERR' "$W/console" >&2 || true
    awk '$1 == "@@BENCH" && $2 == "arm64-boot" && $4 > 0 {
            for (i = 5; i <= NF; i++) if ($i ~ /^mark1_ms=[0-9]/) {
                split($i, kv, "="); t[$3, ++n[$3]] = kv[2]; r[$3, $4] = kv[2] }
        }
        function median(v,   k, m, a, j, x) {
            m = n[v]; for (k = 1; k <= m; k++) a[k] = t[v, k]
            for (k = 2; k <= m; k++) { x = a[k]; for (j = k - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
            return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
        }
        END {
            if (!n["qvm"] || !n["qemu"]) { print "arm64-boot: no complete runs"; exit 1 }
            q = median("qvm"); e = median("qemu")
            printf "arm64-boot: to init, median of %d: qvm %d ms, QEMU -M virt %d ms, qvm/QEMU %.2f\n", n["qvm"], q, e, q / e
            # each round'"'"'s two runs are next to each other in time: their ratio
            for (k = 1; (("qvm", k) in r) && (("qemu", k) in r); k++) {
                t["ratio", k] = r["qvm", k] / r["qemu", k]; n["ratio"] = k
                line = line sprintf(" %.2f", t["ratio", k]); fast += t["ratio", k] < 1
            }
            if (n["ratio"])
                printf "arm64-boot: qvm/QEMU per round:%s; median %.2f; qvm faster in %d of %d\n", line, median("ratio"), fast, n["ratio"]
        }' "$W/console"
}
if [ -n "$FROM" ]; then
    cp "$FROM" "$W/console"
    report
    exit
fi

# ---- QEMU for arm64, with its libraries ----
soname_pkg() { # SONAME: the Debian package shipping it (same name on arm64)
    dpkg -S "*/$1" 2>/dev/null | head -1 | cut -d: -f1
}
if [ ! -f "$CACHE/qemu.ok" ]; then
    rm -rf "${CACHE:?}/debs" "${CACHE:?}/root" "${CACHE:?}/lib"
    mkdir -p "$CACHE/debs" "$CACHE/root" "$CACHE/lib"
    (cd "$CACHE/debs" && apt-get -qq -o APT::Sandbox::User=root download \
        qemu-system-arm:arm64 libc6:arm64 libgcc-s1:arm64)
    for d in "$CACHE"/debs/*.deb; do dpkg -x "$d" "$CACHE/root"; done
    have=' '
    todo="$CACHE/root/usr/bin/qemu-system-aarch64"
    while [ -n "$todo" ]; do
        next=''
        for f in $todo; do
            for so in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
                case "$have" in *" $so "*) continue ;; esac
                have="$have$so "
                p=$(find "$CACHE/root" -name "$so" | head -1)
                if [ -z "$p" ]; then
                    pkg=$(soname_pkg "$so")
                    [ -n "$pkg" ] || { say "no package for $so"; exit 1; }
                    (cd "$CACHE/debs" && apt-get -qq -o APT::Sandbox::User=root \
                        download "$pkg:arm64")
                    dpkg -x "$(ls -t "$CACHE"/debs/"${pkg}"_*arm64.deb | head -1)" "$CACHE/root"
                    p=$(find "$CACHE/root" -name "$so" | head -1)
                    [ -n "$p" ] || { say "$pkg:arm64 has no $so"; exit 1; }
                fi
                next="$next $p"
            done
        done
        todo=$next
    done
    for so in $have; do
        cp -L "$(find "$CACHE/root" -name "$so" | head -1)" "$CACHE/lib/$so"
    done
    touch "$CACHE/qemu.ok"
fi

# ---- the payload ----
P=$W/payload
mkdir -p "$P/bin" "$P/lib" "$P/guest"
cp "$BUILD/qvm" "$P/bin/qvm"
aarch64-linux-gnu-gcc -O2 -static -D_GNU_SOURCE -Wall -Werror -o "$P/bin/tstamp" \
    "$ROOT/bench/tstamp.c"
# Not executable, but for ld-linux: the lab's initramfs takes static
# aarch64 programs only (tests/lab/mk-initramfs.sh), and ld-linux runs the
# rest from their files.
cp "$CACHE/root/usr/bin/qemu-system-aarch64" "$P/lib/"
cp "$CACHE"/lib/* "$P/lib/"
chmod a-x "$P"/lib/*
chmod a+x "$P/lib/ld-linux-aarch64.so.1"
"$ROOT/tests/realguests/prepare-arm64.sh" "$CACHE/guest" >&2
cp "$CACHE/guest/Image" "$CACHE/guest/initrd-arm64.gz" "$P/guest/"
echo "$RUNS" >"$P/runs"
echo "$LOG" >"$P/log"
CMDLINE="console=ttyAMA0 panic=-1 rdinit=/init"
# qvm: QEMU virt's addresses for the GIC and the PL011, the same RAM.
cat >"$P/boot.qvmconf" <<CONF
system arm64-boot
ram 0x40000000,256m
cpu
load guest/Image
initrd load guest/initrd-arm64.gz
cmdline "$CMDLINE"
vdev gic version 3 loc 0x8000000 gicr 0x80a0000
vdev pl011 loc 0x9000000 intr gic:33
    hostdev >-
CONF
# QEMU by the arm64 ld-linux, with its libraries from the payload.
cat >"$P/bin/qemu-virt" <<EOF2
#!/bin/sh
P=\$(cd "\$(dirname "\$0")/.." && pwd)
exec "\$P/lib/ld-linux-aarch64.so.1" --library-path "\$P/lib" \\
    "\$P/lib/qemu-system-aarch64" -M virt,gic-version=3 -enable-kvm \\
    -cpu host -m 256M -smp 1 -nodefaults -no-user-config -nographic \\
    -serial stdio -no-reboot -kernel "\$P/guest/Image" \\
    -initrd "\$P/guest/initrd-arm64.gz" -append "$CMDLINE"
EOF2
chmod +x "$P/bin/qemu-virt"
cat >"$P/entry.sh" <<'EOF2'
#!/bin/sh
# In L1: alternate qvm and QEMU, RUNS rounds, each run timed by tstamp.
P=$(pwd)
export PATH=$P/bin:$PATH
echo "@@BENCH-KERNEL $(uname -r)"
run() { # VMM ROUND
    echo "@@QVM-LAB WATCHDOG 600"
    if [ "$1" = qvm ]; then c="qvm @$P/boot.qvmconf"; else c=qemu-virt; fi
    # shellcheck disable=SC2086 # c: the command and its argument
    r=$(tstamp -t 300 -M QVM-ARM64-INIT -o "/tmp/out.$1" -e "/tmp/err.$1" -- $c)
    echo "@@BENCH arm64-boot $1 $2 $r"
    [ "$(cat log)" = 0 ] || tr -d '\r' <"/tmp/out.$1" | sed "s/^/@@BENCH-OUT $1 $2 /"
    grep -q QVM-ARM64-INIT "/tmp/out.$1" ||
        { echo "@@BENCH-ERR $1"; tail -20 "/tmp/out.$1" "/tmp/err.$1"; }
}
# One warm-up run each (the page cache, KVM's first VM): not counted.
run qvm 0
run qemu 0
i=1
while [ $i -le "$(cat runs)" ]; do
    if [ $((i % 2)) = 1 ]; then run qvm $i; run qemu $i; else run qemu $i; run qvm $i; fi
    i=$((i + 1))
done
EOF2
chmod +x "$P/entry.sh"

# ---- run and report ----
say "payload $(du -sh "$P" | cut -f1), $RUNS rounds in the aarch64 lab"
"$ROOT/tests/lab/lab-run" --arch aarch64 --mem 2048 --timeout $((900 + RUNS * 300)) \
    "$P" >"$W/console" || say "warning: lab-run exit status $?"
[ -z "$CONSOLE" ] || cp "$W/console" "$CONSOLE"
report
