#!/bin/bash
# lboot-trace.sh [--build DIR] [--qvm2 BIN] [--rounds N]: where a
# Linux boot's time and exits go, qvm against QEMU -M microvm,rtc=on, in
# one nested-lab L1 (bench/README.md, "Linux boot: exits by port").
#
# Each VMM boots bench/run.sh --linux's guest (Debian's kernel, the busybox
# init that prints @@LINIT and powers off) once per round with L1's KVM
# tracepoints on (kvm_entry, kvm_exit, kvm_pio, kvm_userspace_exit,
# kvm_page_fault, sched_process_exec), then L1 summarises the trace of
# that run (times in L1 ms from the VMM's exec):
#   @@TRACE VMM ROUND phase NAME MS    first guest entry, first and 16000th
#                                      write to 0xcf8 (the PCI scan), first
#                                      COM1 write, last exit or entry
#   @@TRACE VMM ROUND time CLASS n=N ms=MS   time from kvm_exit to the next
#                                      kvm_entry by class: KVM's exit reason,
#                                      or for port I/O the port (COM1 THR and
#                                      LSR, 0xcf8, 0xcfc, other), "user" when
#                                      the exit went to the VMM
#   @@TRACE VMM ROUND bucket S ...     exits by kind and time in exits per
#                                      0.5 s from the first entry
#   @@TRACE VMM ROUND exit REASON N    KVM's exits by reason (all of them,
#                                      handled in the kernel or not)
#   @@TRACE VMM ROUND user REASON N    exits that reached the VMM
#   @@TRACE VMM ROUND pio DIR PORT N   port I/O by port (in or out)
#   @@TRACE VMM ROUND early ...        the same before the first COM1 write
#   @@TRACE VMM ROUND vmstat KEY N     L1's THP and compaction counters
#                                      over the run (/proc/vmstat)
# Tracing slows every exit: the times are for comparing phases, not for
# the boot ratio (bench/run.sh --linux without tracing gives that).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build QVM2="" ROUNDS=1
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --qvm2) QVM2=$(realpath "$2"); shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) sed -n '2,4s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
done
W=$(mktemp -d "${TMPDIR:-/tmp}/qvm-ltrace.XXXXXX")
trap 'rm -rf "$W"' EXIT
P=$W/payload
mkdir -p "$P/bin" "$P/fw"
ninja -C "$BUILD" qvm bench/tstamp >&2
cp "$BUILD/qvm" "$BUILD/bench/tstamp" "$P/bin/"
[ -z "$QVM2" ] || cp "$QVM2" "$P/bin/qvm2"
Q=$(command -v qemu-system-x86_64)
cp "$Q" "$P/bin/"
for f in qboot.rom bios-microvm.bin linuxboot_dma.bin pvh.bin; do
    for d in /usr/share/qemu /usr/share/seabios; do
        [ -e "$d/$f" ] && cp -L "$d/$f" "$P/fw/" && break
    done
done
sh "$ROOT/bench/linux-guests.sh" "$P/lguests" 2>/dev/null
rm -f "$P/lguests/initramfs-blk.cpio.gz"
VMMS="qvm microvm-rtc"
[ -z "$QVM2" ] || VMMS="qvm qvm2 microvm-rtc"
cat >"$P/entry.sh" <<EOF
#!/bin/sh
ROUNDS=$ROUNDS
VMMS='$VMMS'
EOF
cat >>"$P/entry.sh" <<'EOF'
P=$(pwd)
L=$P/lguests
LCMD="console=ttyS0 panic=-1 tsc=reliable i8042.noaux qvmbench=boot"
# bench/measure.sh's lboot machine.
cat >/tmp/lboot.qvmconf <<CONF
system lboot
ram 0,0xa0000
reserve loc 0xa0000,0x20000
rom 0xc0000,0x40000
ram 1m,255m
cpu
load $L/vmlinuz
initrd load $L/initramfs-boot.cpio.gz
cmdline "$LCMD"
vdev ioapic loc 0xfec00000 intr apic name myioapic
vdev 8259 loc 0x20
vdev 8259 loc 0xa0
vdev timer8254 intr myioapic:0
vdev mc146818
vdev pckeyboard
vdev ser8250 intr myioapic:4 hostdev >-
CONF
T=/sys/kernel/tracing
mount -t tracefs nodev $T 2>/dev/null || mount -t debugfs nodev /sys/kernel/debug
[ -d $T/events ] || T=/sys/kernel/debug/tracing
echo 196608 >$T/buffer_size_kb
for e in kvm/kvm_entry kvm/kvm_exit kvm/kvm_pio kvm/kvm_userspace_exit kvm/kvm_page_fault \
    sched/sched_process_exec; do
    echo 1 >$T/events/$e/enable || echo "@@TRACE-ERR no event $e"
done
vmstat() { grep -E '^(thp_|compact_|pgfault|pgalloc_normal|numa_hint)' /proc/vmstat; }
r=1
while [ $r -le $ROUNDS ]; do
    for v in $VMMS; do
        case $v in
        qvm) set -- $P/bin/qvm @/tmp/lboot.qvmconf ;;
        qvm2) set -- $P/bin/qvm2 @/tmp/lboot.qvmconf ;;
        microvm-rtc) set -- $P/bin/qemu-system-x86_64 -enable-kvm \
            -M microvm,rtc=on -cpu host -smp 1 -nodefaults -no-user-config \
            -nographic -no-reboot -serial stdio -m 256M -kernel $L/vmlinuz \
            -initrd $L/initramfs-boot.cpio.gz -append "$LCMD" -L $P/fw ;;
        esac
        echo "@@QVM-LAB WATCHDOG 600"
        vmstat >/tmp/vm0
        echo >$T/trace
        echo 1 >$T/tracing_on
        line=$($P/bin/tstamp -t 400 -e /tmp/err -o /tmp/out -l /tmp/log \
            -M @@LINIT -- "$@")
        echo 0 >$T/tracing_on
        vmstat >/tmp/vm1
        echo "@@BENCH-T $v $r $line"
        head -c 600 /tmp/err | sed "s/^/@@TRACE-STDERR $v $r /"
        sed -n '1,3p' /tmp/log | sed "s/^/@@TRACE-LOG $v $r /"
        grep -a -m1 'LINIT' /tmp/log | sed "s/^/@@TRACE-LOG $v $r /"
        awk -v p="@@TRACE $v $r vmstat" 'NR == FNR { a[$1] = $2; next }
            $2 - a[$1] != 0 { print p, $1, $2 - a[$1] }' /tmp/vm0 /tmp/vm1
        grep -c . $T/trace | sed "s/^/@@TRACE $v $r lines /"
        awk -v p="@@TRACE $v $r" '
        function ts(  s) { s = $0; sub(/^.*\] [^ ]* +/, "", s); sub(/:.*/, "", s); return s + 0 }
        function cat(k) { return k == "pio_write 0x3f8" || k == "pio_read 0x3fd" ||
            k == "pio_write 0xcf8" || k == "pio_read 0xcfc" ? k : "pio other" }
        / sched_process_exec: / && !/tstamp/ && t0 == "" { t0 = ts(); next }
        / kvm_entry: / { t = ts(); if (te == "") te = t
            if (ce != "") { k = c (u ? " user" : ""); tt[k] += t - ce; nt[k]++
                if (tc == "") { ett[k] += t - ce; ent[k]++ }
                bt[int((ce - te) * 2)] += t - ce }
            ce = ""; last = t; next }
        / kvm_exit: / { t = ts()
            rs = $0; sub(/.*reason /, "", rs); sub(/ .*/, "", rs)
            if (te != "") { b = int((t - te) * 2); if (b > nb) nb = b
                bk[b, rs == "io" || rs == "interrupt" || rs == "npf" ? rs : "other"]++ }
            ex[rs]++; if (tc == "") eex[rs]++; ce = t; c = rs; u = 0; last = t; next }
        / kvm_userspace_exit: / { rs = $0; sub(/.*reason /, "", rs); sub(/ .*/, "", rs);
            us[rs]++; if (tc == "") eus[rs]++; u = 1; next }
        / kvm_pio: / { k = $0; sub(/.*kvm_pio: /, "", k); split(k, f, " ");
            key = f[1] " " f[3]; pio[key]++; if (tc == "") epio[key]++
            c = cat(key); t = ts()
            if (key == "pio_write 0xcf8") { ncf8++; if (ncf8 == 1) tg0 = t; if (ncf8 == 16000) tg1 = t }
            if (tc == "" && key == "pio_write 0x3f8") tc = t; next }
        / kvm_page_fault: / { pf++; if (tc == "") epf++; next }
        END {
            if (t0 == "") t0 = te
            for (b = 0; b <= nb; b++)
                printf "%s bucket %.1fs io=%d interrupt=%d npf=%d other=%d exit-ms=%.1f\n", p, b / 2,
                    bk[b, "io"], bk[b, "interrupt"], bk[b, "npf"], bk[b, "other"], bt[b] * 1000
            printf "%s phase first-entry %.1f\n", p, (te - t0) * 1000
            if (tg0 != "") printf "%s phase first-cf8-write %.1f\n", p, (tg0 - t0) * 1000
            if (tg1 != "") printf "%s phase cf8-write-16000 %.1f\n", p, (tg1 - t0) * 1000
            if (tc != "") printf "%s phase first-com1-write %.1f\n", p, (tc - t0) * 1000
            printf "%s phase last-entry-or-exit %.1f\n", p, (last - t0) * 1000
            for (k in tt) { printf "%s time %s n=%d ms=%.1f\n", p, k, nt[k], tt[k] * 1000; all += tt[k] }
            for (k in ett) { printf "%s early time %s n=%d ms=%.1f\n", p, k, ent[k], ett[k] * 1000; eall += ett[k] }
            printf "%s time all-exits ms=%.1f\n", p, all * 1000
            printf "%s early time all-exits ms=%.1f\n", p, eall * 1000
            printf "%s exit npf %d\n", p, pf; printf "%s early exit npf %d\n", p, epf
            for (k in ex) print p, "exit", k, ex[k]
            for (k in us) print p, "user", k, us[k]
            for (k in pio) print p, "pio", k, pio[k]
            for (k in eex) print p, "early exit", k, eex[k]
            for (k in eus) print p, "early user", k, eus[k]
            for (k in epio) print p, "early pio", k, epio[k]
        }' $T/trace
    done
    r=$((r + 1))
done
EOF
chmod +x "$P/entry.sh"
"$ROOT/tests/lab/lab-run" --timeout $((900 * ROUNDS)) "$P" | tee "$W/labout" |
    grep --line-buffered -a '^@@\|^lab-run' || true
