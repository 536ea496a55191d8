#!/bin/sh
# irqchip-exits.sh: where a Linux boot's exits go with KVM's in-kernel
# irqchip and PIT (QVM_IRQCHIP=kernel) and with qvm's own controllers
# (QVM_IRQCHIP=split), in one nested-lab L1 (bench/README.md, "Interrupt
# controllers"). The guest and configuration are bench/measure.sh's lboot
# (Debian's kernel, bench/linux-init.sh, powering off at init); the modes
# alternate, ROUNDS boots each. Every 0.5 s of a boot, L1 copies KVM's
# statistics of the VM (debugfs, kvm/PID-FD/: exits handled in the kernel
# included) and sends qvm SIGUSR1 (its status report: the exits that
# reached qvm, by reason); the last copy and report before the VM is gone
# are printed, with the boot's times. Not a timing benchmark: the sampling
# costs L1 time (bench/run.sh --linux measures the times).
#
# Usage: bench/irqchip-exits.sh [--rounds N] [--build DIR]
# Prints a Markdown table (one column per boot) on stdout.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ROUNDS=2 BUILD=$ROOT/build
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    *) sed -n 's/^# Usage: //p' "$0" >&2; exit 2 ;;
    esac
done
ninja -C "$BUILD" >&2 || echo "irqchip-exits: ninja failed; using what is built" >&2
W=$(mktemp -d "${TMPDIR:-/tmp}/qvm-irqx.XXXXXX")
trap 'rm -rf "$W"' EXIT
P=$W/payload
mkdir -p "$P/bin"
cp "$BUILD/qvm" "$P/bin/qvm"
sh "$HERE/linux-guests.sh" "$P/lguests" 2>/dev/null ||
    { echo "irqchip-exits: cannot build the Linux guest" >&2; exit 1; }
rm -f "$P/lguests/initramfs-blk.cpio.gz"
echo "$ROUNDS" >"$P/rounds"
cat >"$P/entry.sh" <<'EOF'
#!/bin/sh
P=$(pwd)
W=/tmp/irqx
mkdir -p $W
mount -t debugfs none /sys/kernel/debug 2>/dev/null
# measure.sh's lboot configuration (lconf lboot).
cat >$W/lboot.qvmconf <<EOC
system lboot
ram 0,0xa0000
reserve loc 0xa0000,0x20000
rom 0xc0000,0x40000
ram 1m,255m
cpu
load $P/lguests/vmlinuz
initrd load $P/lguests/initramfs-boot.cpio.gz
cmdline "console=ttyS0 panic=-1 tsc=reliable i8042.noaux qvmbench=boot"
vdev ioapic loc 0xfec00000 intr apic name myioapic
vdev 8259 loc 0x20
vdev 8259 loc 0xa0
vdev timer8254 intr myioapic:0
vdev mc146818
vdev pckeyboard
vdev ser8250 intr myioapic:4 hostdev >-
EOC
up() { cut -d' ' -f1 /proc/uptime; }
r=1
while [ $r -le "$(cat $P/rounds)" ]; do
    for mode in kernel split; do
        echo "@@QVM-LAB WATCHDOG 400"
        rm -f $W/snap
        t0=$(up)
        QVM_IRQCHIP=$mode $P/bin/qvm @$W/lboot.qvmconf dryrun 2>&1 |
            grep 'interrupt controllers' | sed "s/^/@@IRQX $mode $r dryrun /"
        QVM_IRQCHIP=$mode $P/bin/qvm @$W/lboot.qvmconf </dev/null >$W/out 2>$W/err &
        pid=$!
        while kill -0 $pid 2>/dev/null; do
            d=$(ls -d /sys/kernel/debug/kvm/$pid-* 2>/dev/null | head -n 1)
            [ -z "$d" ] || grep -s . "$d"/* >$W/snap.new
            if [ -n "$d" ] && [ -s $W/snap.new ]; then
                echo "t $(up)" >>$W/snap.new
                mv $W/snap.new $W/snap
                kill -USR1 $pid 2>/dev/null
            fi
            sleep 0.5
        done
        wait $pid
        rc=$?
        t1=$(up)
        echo "@@IRQX $mode $r rc $rc"
        echo "@@IRQX $mode $r time $t0 $t1"
        grep -q '@@LINIT' $W/out && echo "@@IRQX $mode $r linit yes"
        sed "s|^.*/||; s/:/ /; s/^/@@IRQX $mode $r kvm /" $W/snap
        grep 'status: vCPU 0' $W/err | tail -n 1 | sed "s/^/@@IRQX $mode $r qvm /"
    done
    r=$((r + 1))
done
EOF
chmod +x "$P/entry.sh"
"$ROOT/tests/lab/lab-run" --timeout $((300 + ROUNDS * 800)) "$P" >"$W/console" ||
    echo "irqchip-exits: lab-run exit status $?" >&2
grep '^@@IRQX ' "$W/console" >"$W/raw" || true
[ -z "${IRQX_RAW:-}" ] || cp "$W/console" "$IRQX_RAW"
# The table: KVM's counters that differ between the boots, then qvm's.
awk '
    { col = $2 " #" $3; if (!(col in seen)) { seen[col] = 1; cols[++nc] = col } }
    $4 == "kvm" && $5 == "t" { tlast[col] = $6; next }
    $4 == "kvm" { if (!($5 in isrow)) { isrow[$5] = 1; rows[++nr] = $5 } v[$5, col] = $6 }
    $4 == "time" { el[col] = $6 - $5; start[col] = $5 }
    $4 == "qvm" { sub(/.*exits to qvm/, ""); q[col] = $0 }
    END {
        printf "| counter |"; for (c = 1; c <= nc; c++) printf " %s |", cols[c]; print ""
        printf "|---|"; for (c = 1; c <= nc; c++) printf "---|"; print ""
        printf "| L1 seconds, start to exit (sampled) |"
        for (c = 1; c <= nc; c++) printf " %.1f |", el[cols[c]]; print ""
        printf "| last sample at (s) |"
        for (c = 1; c <= nc; c++) printf " %.1f |", tlast[cols[c]] - start[cols[c]]; print ""
        for (r = 1; r <= nr; r++) {
            same = 1; any = 0
            for (c = 1; c <= nc; c++) {
                x = v[rows[r], cols[c]]
                if (x != v[rows[r], cols[1]]) same = 0
                if (x + 0 != 0) any = 1
            }
            if (same || !any || rows[r] ~ /^(max_|halt_.*(hist|ns)|.*_ns$|tsc|lapic)/) continue
            printf "| kvm %s |", rows[r]
            for (c = 1; c <= nc; c++) printf " %s |", v[rows[r], cols[c]]; print ""
        }
        printf "| qvm (SIGUSR1) |"
        for (c = 1; c <= nc; c++) printf " %s |", q[cols[c]]; print ""
    }' "$W/raw"
