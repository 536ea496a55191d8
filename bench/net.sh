#!/bin/bash
# net.sh: virtio-net under qvm against QEMU (issue 18 item 5,
# bench/README.md "virtio-net"), all in one nested-lab L1 boot, the VMMs
# alternating round by round. The guest is the same for every VMM:
# Debian's kernel and the real-guest virtio initramfs
# (tests/realguests/prepare.sh) with this tree's init.sh and nettool
# (tests/realguests/nettool.c) laid over it, 256 MiB, 1 vCPU, virtio-net
# on PCI (modern interface, MSI-X) under both VMMs.
#
# tap: L1 has the tap qvmtap0 (10.0.3.1/24); the guest (10.0.3.2) serves
#   nettool, and L1's nettool streams BYTES to it (send: guest <- L1),
#   has it stream BYTES back (recv: guest -> L1) and makes COUNT one-byte
#   TCP round trips (rr), REPS times per boot, timed in L1.
#   qvm: tests/vm/configs/linux-virtio-tap.qvmconf (`peerfeats 0`: no
#   offloads, as configured there); qvm-offl: the same with `peerfeats
#   0x7fc3` (checksum and segmentation offloads, as QEMU negotiates them);
#   qemu: -M pc -enable-kvm -cpu host -netdev tap,ifname=qvmtap0,vhost=off
#   -device virtio-net-pci,disable-legacy=on; qemu-vhost: vhost=on
#   (Debian's vhost_net loaded in L1); qemu-packed (not by default): QEMU
#   with packed=on (qvm offers the packed ring and Linux takes it; QEMU's
#   default is the split ring).
# peer: two guests in L1; A (10.0.2.1) serves, B (10.0.2.2) runs the same
#   client sequence against A, timed in B. qvm: linux-virtio-net-{a,b}
#   .qvmconf (`peer /dev/qvm/SYSTEM/NAME`: AF_UNIX datagrams), qvm-offl:
#   with `peerfeats 0x7fc3`; qemu: two QEMUs joined by -netdev dgram over
#   AF_UNIX datagram sockets (the closest to qvm's peer link: one frame per
#   datagram; QEMU's socket backends carry no virtio-net header, hence no
#   offloads).
# One "@@BENCH net LINK VMM ROUND op=send|recv|rr ..." line per
# measurement; the report gives each VMM's median and the ratios to QEMU
# (vhost=off).
#
# Usage: bench/net.sh [--rounds N] [--reps N] [--bytes N] [--count N]
#                     [--links 'tap peer'] [--vmms 'qvm qvm-offl qemu qemu-vhost']
#                     [--rtctick HZ] [--build DIR] [--console FILE] [--no-readme]
#                     [--from-console FILE]
#   --rounds N   L2 boots per VMM and link (default 2), --reps N: the
#                client sequence per boot (default 3), --bytes N: bytes per
#                stream (default 32 MiB), --count N: round trips (1000)
#   --rtctick HZ L1's HPET (or RTC) interrupt rate (default 128; 0: off), against
#                the lab's lost timer interrupts (bench/README.md)
#   --from-console FILE  no run: the report of a kept L1 console
set -euo pipefail
{
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=2 REPS=3 BYTES=$((32 << 20)) COUNT=1000 BUILD=$ROOT/build CONSOLE=''
FROM='' README=1 LINKS='tap peer' VMMS='qvm qvm-offl qemu qemu-vhost' RTCTICK=128
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --bytes) BYTES=$2; shift 2 ;;
    --count) COUNT=$2; shift 2 ;;
    --links) LINKS=$2; shift 2 ;;
    --vmms) VMMS=$2; shift 2 ;;
    --rtctick) RTCTICK=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --console) CONSOLE=$2; shift 2 ;;
    --no-readme) README=0; shift ;;
    --from-console) FROM=$(realpath "$2"); shift 2 ;;
    *) sed -n '/^# Usage:/,/^#   --from-console/s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
    esac
done
say() { echo "net-bench: $*" >&2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/net-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
. "$ROOT/bench/lib.sh"

# report: medians and ratios from the L1 console in $W/console.
report() {
    awk "$BENCH_MEDIAN_AWK"'
        $1 == "@@BENCH" && $2 == "net" {
            link = $3; vmm = $4; op = ""; val = ""; s = 0
            for (i = 6; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == "op") op = kv[2]
                if (kv[1] == "mbps") val = kv[2]
                if (kv[1] == "median_ns") val = kv[2]
                if (kv[1] == "stalled") s = kv[2] + 0
            }
            if (op == "" || val == "") next
            k = link SUBSEP vmm SUBSEP op
            # per round (one boot of each VMM, minutes apart in the same
            # L1): the mean of its clean measurements, else of all
            rk = k SUBSEP $5; rounds[link, $5] = 1
            if (s) { rsa[rk] += val; rna[rk]++ } else { rsc[rk] += val; rnc[rk]++ }
            if (!((link, vmm) in seen)) { seen[link, vmm] = 1; order[link] = order[link] " " vmm }
            # a measurement during which L1 stalled is not one (kept
            # apart: used only when a VMM has no other)
            if (s) { st[link, vmm]++; sv[k, ++sn[k]] = val; next }
            v[k, ++n[k]] = val; clean[link, vmm]++
        }
        $1 == "@@BENCH" && $2 == "net-fail" { fail[$3, $4]++ }
        function rmean(rk) { return rnc[rk] ? rsc[rk] / rnc[rk] : rna[rk] ? rsa[rk] / rna[rk] : "" }
        END {
            for (k in sn) if (!(k in n)) { for (i = 1; i <= sn[k]; i++) v[k, i] = sv[k, i]; n[k] = sn[k]; stonly[k] = 1 }
            nl = split("tap peer", links, " ")
            name["tap"] = "guest <-> L1 over a tap"; name["peer"] = "guest <-> guest (qvm: peer link; QEMU: -netdev dgram)"
            vname["qvm"] = "qvm (peerfeats 0)"; vname["qvm-offl"] = "qvm (peerfeats 0x7fc3)"
            vname["qemu"] = "QEMU vhost=off"; vname["qemu-vhost"] = "QEMU vhost=on"; vname["qemu-packed"] = "QEMU vhost=off, packed ring"
            any = 0
            for (l = 1; l <= nl; l++) {
                L = links[l]
                if (order[L] == "") continue
                any = 1
                printf "\n%s:\n\n", name[L]
                print "| VMM | send to the guest, MB/s | receive from the guest, MB/s | TCP round trip, median us | send / QEMU | receive / QEMU | round trip / QEMU | measurements: clean, stalled |"
                print "|---|---|---|---|---|---|---|---|"
                qs = (L SUBSEP "qemu" SUBSEP "send") in n ? median(L SUBSEP "qemu" SUBSEP "send") : 0
                qr = (L SUBSEP "qemu" SUBSEP "recv") in n ? median(L SUBSEP "qemu" SUBSEP "recv") : 0
                qp = (L SUBSEP "qemu" SUBSEP "rr") in n ? median(L SUBSEP "qemu" SUBSEP "rr") : 0
                m = split(order[L], vs, " ")
                for (i = 1; i <= m; i++) {
                    V = vs[i]; k = L SUBSEP V SUBSEP
                    s = (k "send") in n ? median(k "send") : 0
                    r = (k "recv") in n ? median(k "recv") : 0
                    p = (k "rr") in n ? median(k "rr") : 0
                    printf "| %s | %.1f%s | %.1f%s | %.0f%s | %s | %s | %s | %d, %d |\n", vname[V] ? vname[V] : V,
                        s, stonly[k "send"] ? "*" : "", r, stonly[k "recv"] ? "*" : "", p / 1000, stonly[k "rr"] ? "*" : "",
                        qs && s ? sprintf("**%.2f**", s / qs) : "-", qr && r ? sprintf("**%.2f**", r / qr) : "-",
                        qp && p ? sprintf("%.2f", p / qp) : "-", clean[L, V] + 0, st[L, V] + 0
                }
            }
            print "\nMedians of the measurements during which L1 did not stall (lab-run woke it: not counted); * marks a median of stalled ones only."
            # Round by round: each VMM against QEMU booted in the same round.
            hdr = 0
            for (l = 1; l <= nl; l++) {
                L = links[l]; m = split(order[L], vs, " ")
                for (i = 1; i <= m; i++) {
                    V = vs[i]; if (V == "qemu") continue
                    line = ""
                    for (o = 1; o <= 3; o++) {
                        op = o == 1 ? "send" : o == 2 ? "recv" : "rr"
                        rkey = "ratio" SUBSEP L SUBSEP V SUBSEP op; n[rkey] = 0; lo = hi = ""; met = 0
                        for (rr in rounds) {
                            split(rr, rp, SUBSEP); if (rp[1] != L) continue
                            a = rmean(L SUBSEP V SUBSEP op SUBSEP rp[2]); b = rmean(L SUBSEP "qemu" SUBSEP op SUBSEP rp[2])
                            if (a == "" || b == "" || !a || !b) continue
                            x = a / b; v[rkey, ++n[rkey]] = x
                            if (lo == "" || x < lo) lo = x
                            if (hi == "" || x > hi) hi = x
                            if (x >= 1.2) met++
                        }
                        if (!n[rkey]) continue
                        line = line sprintf("%s%s %.2f (%.2f-%.2f", line == "" ? "" : "; ", op == "rr" ? "round trip" : op, median(rkey), lo, hi)
                        line = line (op == "rr" ? ")" : sprintf(", %d of %d rounds >= 1.2)", met, n[rkey]))
                    }
                    if (line == "") continue
                    if (!hdr++) print "\nRound by round, against QEMU vhost=off booted in the same round (the median of the per-round ratios, their range, the rounds at 1.2 x or more; the round trip: lower is faster):"
                    printf "- %s, %s: %s\n", L, vname[V] ? vname[V] : V, line
                }
            }
            for (k in fail) { split(k, f, SUBSEP); printf "\nFailed runs: %s %s: %d\n", f[1], f[2], fail[k] }
            if (!any) { print "net-bench: no measurements"; exit 1 }
        }' "$W/console"
}


if [ -n "$FROM" ]; then
    bench_mark net "$FROM"
    report
    exit
fi

ninja -C "$BUILD" >&2 || say "warning: ninja failed; using what is built"
bench_payload ifmissing "$BUILD" bios-256k.bin kvmvapic.bin \
    linuxboot_dma.bin linuxboot.bin
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/qvm-bench
C=$("$ROOT/tests/lab/fetch.sh")
K=$(cat "$C/ok")
# L1's tun and vhost_net (with vhost, vhost_iotlb, tap) from the lab's
# kernel package (L1's and the guest's kernel), once per kernel.
if [ "$(cat "$CACHE/vhost.ok" 2>/dev/null)" != "$K" ]; then
    mkdir -p "$CACHE"
    T=$W/k
    mkdir -p "$T"
    (cd "$T" && apt-get -qq -o APT::Sandbox::User=root download "$K") ||
        { apt-get update -qq && (cd "$T" &&
            apt-get -qq -o APT::Sandbox::User=root download "$K"); } ||
        { say "cannot download $K"; exit 1; }
    dpkg -x "$T"/*.deb "$T/x"
    rm -rf "$CACHE/vhost"
    mkdir -p "$CACHE/vhost"
    python3 "$ROOT/tests/realguests/kmods.py" net-bench "$T"/x/lib/modules/* \
        "$CACHE/vhost=vhost_net" >&2
    echo "$K" >"$CACHE/vhost.ok"
    rm -rf "$T"
fi
mkdir -p "$P/l1"
cp "$CACHE"/vhost/* "$P/l1/"
# nettool for L1 and the guests; the guests' initramfs is the virtio one
# with this tree's /init and nettool appended (a second cpio archive: the
# kernel unpacks both, the later files win).
${CC:-cc} -static -O2 -o "$P/bin/nettool" "$ROOT/tests/realguests/nettool.c"
O=$W/overlay
mkdir -p "$O/bin"
cp "$ROOT/tests/realguests/init.sh" "$O/init"
chmod +x "$O/init"
cp "$P/bin/nettool" "$O/bin/nettool"
(cd "$O" && find . | cpio -o -H newc --quiet | gzip -1n) >"$W/overlay.cpio.gz"
cat "$RG/initramfs-virtio.cpio.gz" "$W/overlay.cpio.gz" >"$P/guests/initramfs.cpio.gz"
cp "$RG/vmlinuz" "$P/guests/"
BASE="console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 tsc=reliable i8042.noaux qvmtest=netbench"
CTAP="$BASE qvmip=10.0.3.2/24"
CA="$BASE qvmip=10.0.2.1/24"
CB="$BASE qvmip=10.0.2.2/24 qvmpeer=10.0.2.1 qvmnb=$BYTES,$COUNT,$REPS"
cfg() { # SRC CMDLINE DEST [peerfeats]
    # (logger debug: virtio-net's counters at exit, for @@BENCH-STATS)
    { sed -e "s|^cmdline .*|cmdline \"$2\"|" -e 's|guests/initramfs-virtio.cpio.gz|guests/initramfs.cpio.gz|' \
        ${4:+-e "s|^vdev virtio-net .*|& peerfeats $4|"} "$ROOT/tests/vm/configs/$1"
        echo "logger debug stderr"; } >"$P/$3"
    grep -q "qvmtest=netbench" "$P/$3" || { say "cannot set the command line of $3"; exit 1; }
}
cfg linux-virtio-tap.qvmconf "$CTAP" tap-qvm.qvmconf
cfg linux-virtio-tap.qvmconf "$CTAP" tap-qvm-offl.qvmconf 0x7fc3
cfg linux-virtio-net-a.qvmconf "$CA" peera-qvm.qvmconf
cfg linux-virtio-net-b.qvmconf "$CB" peerb-qvm.qvmconf
cfg linux-virtio-net-a.qvmconf "$CA" peera-qvm-offl.qvmconf 0x7fc3
cfg linux-virtio-net-b.qvmconf "$CB" peerb-qvm-offl.qvmconf 0x7fc3
echo "$CTAP" >"$P/cmdline-tap"
echo "$CA" >"$P/cmdline-a"
echo "$CB" >"$P/cmdline-b"
echo "$ROUNDS $REPS $BYTES $COUNT" >"$P/params"
echo "$LINKS" >"$P/links"
echo "$RTCTICK" >"$P/rtctick"
echo "$VMMS" >"$P/vmms"
echo "$("$P/bin/qvm" --version 2>&1 | head -1) ($(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo '+changes'))" >"$P/version"
cat >"$P/entry.sh" <<'EOF'
#!/bin/sh
# Inside L1: the tap, vhost_net, then the runs, the VMMs alternating.
P=$(pwd)
cd "$P" || exit 1
read -r ROUNDS REPS BYTES COUNT <"$P/params"
echo "@@BENCH-KERNEL $(uname -r)"
echo "@@BENCH-VERSION $(cat "$P/version")"
echo "@@BENCH-PARAMS rounds=$ROUNDS reps=$REPS bytes=$BYTES count=$COUNT"
for m in $(cat "$P/l1/order"); do
    insmod "$P/l1/$m.ko" || echo "@@BENCH-ERR insmod $m failed"
done
i=0
while { [ ! -c /dev/net/tun ] || [ ! -c /dev/vhost-net ]; } && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
[ -c /dev/vhost-net ] || echo "@@BENCH-ERR no /dev/vhost-net: qemu-vhost is skipped"
tunctl -t qvmtap0 >/dev/null || echo "@@BENCH-ERR cannot create qvmtap0"
ip addr add 10.0.3.1/24 dev qvmtap0
ip link set qvmtap0 up
ip link set lo up
# L1 loses its local APIC timer interrupt now and then until another
# interrupt comes (tests/lab/README.md, "The known stall"); lab-run wakes
# it within 1-2 s, which is most of a measurement here. A periodic device
# interrupt at 128 Hz (an HPET comparator of its own, /dev/hpet) brings
# the lost one back within 8 ms instead.
tick=''
if [ "$(cat "$P/rtctick")" != 0 ]; then
    "$P/bin/nettool" rtctick "$(cat "$P/rtctick")" &
    tick=$!
    sleep 1
    echo "@@BENCH-RTC $(grep -E 'rtc|hpet' /proc/interrupts | tr -s ' ' | head -3 | tr '\n' ';')"
    sleep 1
    echo "@@BENCH-RTC $(grep -E 'rtc|hpet' /proc/interrupts | tr -s ' ' | head -3 | tr '\n' ';')"
fi
export QVM_RUNTIME_DIR=/tmp/qvmrun
mkdir -p "$QVM_RUNTIME_DIR"
chmod 700 "$QVM_RUNTIME_DIR"
Q="$P/bin/qemu-system-x86_64 -enable-kvm -M pc -cpu host -m 256M -smp 1 -nodefaults -no-user-config -nographic -no-reboot -serial stdio -L $P/fw -kernel $P/guests/vmlinuz -initrd $P/guests/initramfs.cpio.gz"
NETDEV=virtio-net-pci,disable-legacy=on,romfile=
fail() { # LINK VMM ROUND FILE...
    echo "@@BENCH net-fail $1 $2 $3"
    l=$1 v=$2 r=$3
    shift 3
    for f in "$@"; do tail -n 30 "$f" | sed "s/^/@@BENCH-OUT $l $v $r: /"; done
}
# stats LINK VMM ROUND FILE...: qvm's virtio-net counters (logged at exit).
stats() {
    l=$1 v=$2 r=$3
    shift 3
    grep -h -e 'virtio-net.*received .* frames' -e 'QVM-GUEST-INIT: netstat: ' "$@" | tr -d '\r' |
        sed -e 's/QVM-GUEST-INIT: netstat: /guest: /' -e "s/^/@@BENCH-STATS $l $v $r: /"
}
# tcpstat: L1's TCP counters (the client side of the tap runs)
tcpstat() {
    awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) f[$i] = i; h = 1; next }
        print "RetransSegs=" $f["RetransSegs"], "OutSegs=" $f["OutSegs"], "InSegs=" $f["InSegs"] }' /proc/net/snmp
}
# waitvm PID SECS: wait for the VMM, killing it after SECS.
waitvm() {
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 5)) ]; do sleep 0.2; i=$((i + 1)); done
    kill -0 "$1" 2>/dev/null && { kill -9 "$1"; echo "@@BENCH-ERR killed a VMM that did not exit"; }
    wait "$1" 2>/dev/null
}
tap() { # VMM ROUND
    v=$1 r=$2
    case $v in
    qvm | qvm-offl) "$P/bin/qvm" @"$P/tap-$v.qvmconf" </dev/null >/tmp/vm.out 2>&1 & ;;
    qemu | qemu-vhost | qemu-packed)
        vh=off pk=off
        [ $v = qemu-vhost ] && vh=on
        [ $v = qemu-packed ] && pk=on
        # shellcheck disable=SC2086 # $Q is words
        $Q -append "$(cat "$P/cmdline-tap")" \
            -netdev tap,id=n0,ifname=qvmtap0,script=no,downscript=no,vhost=$vh \
            -device $NETDEV,packed=$pk,netdev=n0,mac=02:00:00:00:03:02 </dev/null >/tmp/vm.out 2>&1 &
        ;;
    esac
    pid=$!
    t0=$(tcpstat)
    ok=1 k=1
    while [ $k -le "$REPS" ] && [ $ok = 1 ]; do
        for op in send recv rr; do
            n=$BYTES
            [ $op = rr ] && n=$COUNT
            l=$("$P/bin/nettool" $op 10.0.3.2 5001 "$n" 2>/tmp/nt.err) || { ok=0; break; }
            echo "@@BENCH net tap $v $r ${l#@@NET }"
        done
        k=$((k + 1))
    done
    "$P/bin/nettool" quit 10.0.3.2 5001 2>>/tmp/nt.err || ok=0
    waitvm $pid 120
    stats tap "$v" "$r" /tmp/vm.out
    echo "@@BENCH-STATS tap $v $r: L1 tcp before $t0, after $(tcpstat)"
    [ $ok = 1 ] || fail tap "$v" "$r" /tmp/nt.err /tmp/vm.out
}
peer() { # VMM ROUND
    v=$1 r=$2
    rm -f /tmp/qa.sock /tmp/qb.sock
    case $v in
    qvm | qvm-offl)
        "$P/bin/qvm" @"$P/peera-$v.qvmconf" </dev/null >/tmp/vma.out 2>&1 &
        pa=$!
        "$P/bin/qvm" @"$P/peerb-$v.qvmconf" </dev/null >/tmp/vmb.out 2>&1 &
        pb=$!
        ;;
    qemu)
        # shellcheck disable=SC2086 # $Q is words
        $Q -append "$(cat "$P/cmdline-a")" \
            -netdev dgram,id=n0,local.type=unix,local.path=/tmp/qa.sock,remote.type=unix,remote.path=/tmp/qb.sock \
            -device $NETDEV,netdev=n0,mac=02:00:00:00:02:01 </dev/null >/tmp/vma.out 2>&1 &
        pa=$!
        # shellcheck disable=SC2086 # $Q is words
        $Q -append "$(cat "$P/cmdline-b")" \
            -netdev dgram,id=n0,local.type=unix,local.path=/tmp/qb.sock,remote.type=unix,remote.path=/tmp/qa.sock \
            -device $NETDEV,netdev=n0,mac=02:00:00:00:02:02 </dev/null >/tmp/vmb.out 2>&1 &
        pb=$!
        ;;
    *) return ;;
    esac
    # B's results as they come, so that each is marked with the L1 stalls
    # during it (mark, on the host).
    cr=$(printf '\r')
    tail -f /tmp/vmb.out 2>/dev/null | while read -r l; do
        case $l in "@@NET "*) l=${l%"$cr"}; echo "@@BENCH net peer $v $r ${l#@@NET }" ;; esac
    done &
    tp=$!
    waitvm $pb 900
    waitvm $pa 60
    sleep 1
    kill $tp 2>/dev/null
    pkill -P $tp 2>/dev/null
    stats peer "$v" "$r" /tmp/vma.out /tmp/vmb.out
    grep -q 'netbench done' /tmp/vmb.out || fail peer "$v" "$r" /tmp/vma.out /tmp/vmb.out
}
r=1
vmms=$(cat "$P/vmms")
rev=''
for v in $vmms; do rev="$v $rev"; done
while [ $r -le "$ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then list=$vmms; else list=$rev; fi
    for link in $(cat "$P/links"); do
        for v in $list; do
            [ $v = qemu-vhost ] && { [ $link = tap ] && [ -c /dev/vhost-net ] || continue; }
            echo "@@QVM-LAB WATCHDOG 1200"
            echo "@@BENCH-RUN $link $v $r t=$(cut -d' ' -f1 /proc/uptime)"
            $link "$v" $r
        done
    done
    r=$((r + 1))
done
[ -z "$tick" ] || kill "$tick"
echo "@@QVM-LAB WATCHDOG 0"
EOF
chmod +x "$P/entry.sh"
nl=$(echo "$LINKS" | wc -w) nv=$(echo "$VMMS" | wc -w)
say "lab: $ROUNDS rounds of $VMMS on $LINKS, $REPS reps of $BYTES bytes each way and $COUNT round trips"
"$ROOT/tests/lab/lab-run" --timeout $((300 + ROUNDS * nl * nv * 900)) "$P" >"$W/labout" ||
    say "warning: lab-run exit status $?"
bench_mark net "$W/labout"
[ -z "$CONSOLE" ] || cp "$W/console" "$CONSOLE"
grep -E '^@@BENCH(-KERNEL|-VERSION|-PARAMS|-ERR)? ' "$W/console" >&2 || true
grep '^@@BENCH-OUT' "$W/console" | head -n 120 >&2 || true
report >"$W/report" || { cat "$W/report" >&2; exit 1; }
{
    echo "Command: \`bench/net.sh --rounds $ROUNDS --reps $REPS --bytes $BYTES --count $COUNT\`, $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Versions: $(sed -n 's/^@@BENCH-VERSION //p' "$W/console" | head -1); $("$QEMU" --version | head -1) in L1; L1 and guest kernel $(sed -n 's/^@@BENCH-KERNEL //p' "$W/console" | head -1)."
    cat "$W/report"
} >"$W/full"
cat "$W/full"
[ "$README" = 1 ] || exit 0
begin="<!-- bench results: lab-net -->" end="<!-- end bench results: lab-net -->"
grep -qF "$begin" "$ROOT/bench/README.md" || { say "no '$begin' marker in bench/README.md; not written"; exit 0; }
awk -v b="$begin" -v e="$end" -v f="$W/full" '
    $0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
    $0 == e { skip = 0 }
    !skip' "$ROOT/bench/README.md" >"$W/readme"
cp "$W/readme" "$ROOT/bench/README.md"
say "results written to bench/README.md (lab-net)"
exit 0
}
