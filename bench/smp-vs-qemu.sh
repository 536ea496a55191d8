#!/bin/sh
# smp-vs-qemu.sh: the bench_smp guest with 2 vCPUs, each pinned to its own
# L1 CPU, under QEMU and under qvm alternating, in one L1 of the nested lab
# with 2 vCPUs (bench/README.md, "SMP scaling": pinned 2-vCPU runs that
# fail now and then under qvm). QEMU: -M q35 -enable-kvm -cpu host -smp 2,
# SeaBIOS and multiboot -kernel, its vCPU threads pinned with taskset; qvm:
# bench/smp.sh's 2-vCPU machine with `cpu runmask 0` / `cpu runmask 1`.
# One @@QSMP line per run (ok=1: the guest printed @E), qvm's last three
# stderr lines after its run, and after a failed qvm run the guest's output.
#
#     bench/smp-vs-qemu.sh [ROUNDS [BUILD]]     (defaults: 8, build)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${1:-8}
BUILD=${2:-$ROOT/build}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
ninja -C "$BUILD" qvm bench/tstamp tests/guests/bench_smp.elf >/dev/null
P=$W/payload
mkdir -p "$P/bin" "$P/fw" "$P/guests"
cp "$BUILD/qvm" "$BUILD/bench/tstamp" "$ROOT/bench/smp-qvmconf.sh" \
    "$(command -v qemu-system-x86_64)" "$P/bin/"
cp "$BUILD/tests/guests/bench_smp.elf" "$P/guests/"
for f in bios-256k.bin kvmvapic.bin multiboot_dma.bin linuxboot_dma.bin; do
    for d in /usr/share/qemu /usr/share/seabios; do
        [ -e "$d/$f" ] && cp -L "$d/$f" "$P/fw/" && break
    done
done
echo "$ROUNDS" >"$P/rounds"
cat >"$P/entry.sh" <<'EOF'
#!/bin/sh
P=${P:-$(pwd)}
W=/tmp/qsmp
mkdir -p $W
sh $P/bin/smp-qvmconf.sh 2 1 $P/guests >$W/smp2.qvmconf
r=1
while [ $r -le "$(cat $P/rounds)" ]; do
    $P/bin/qemu-system-x86_64 -M q35 -enable-kvm -cpu host -smp 2 -m 256 \
        -L $P/fw -name smp,debug-threads=on -kernel $P/guests/bench_smp.elf \
        -display none -vga none -serial file:$W/q.out -serial null -net none \
        -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=1 >$W/q.err 2>&1 &
    q=$!
    i=0 n=0
    while [ $i -lt 100 ]; do
        n=0
        for t in /proc/$q/task/*; do
            case $(cat $t/comm 2>/dev/null) in
            "CPU 0/KVM") taskset -p 1 ${t##*/} >/dev/null && n=$((n + 1)) ;;
            "CPU 1/KVM") taskset -p 2 ${t##*/} >/dev/null && n=$((n + 1)) ;;
            esac
        done
        [ $n = 2 ] && break
        i=$((i + 1))
        sleep 0.02
    done
    (sleep 120; kill $q 2>/dev/null) &
    k=$!
    rc=0
    wait $q || rc=$?
    kill $k 2>/dev/null
    out=$(tr -d '\r\n' <$W/q.out)
    ok=0
    case $out in *@E*) ok=1 ;; esac
    echo "@@QSMP qemu $r ok=$ok rc=$rc pinned=$n out=$out $(head -c 200 $W/q.err | tr '\n' ' ')"
    ok=0
    line=$($P/bin/tstamp -t 120 -o $W/out -e $W/err -M @S -M @E -- $P/bin/qvm @$W/smp2.qvmconf) || ok=$?
    echo "@@QSMP qvm $r ok=$((ok == 0)) $line"
    [ $ok = 0 ] || head -c 2000 $W/out # bench_smp's exception report
    grep -a -v '^$' $W/err | tail -3
    r=$((r + 1))
done
EOF
chmod +x "$P/entry.sh"
"$ROOT/tests/lab/lab-run" --smp 2 --timeout $((600 + ROUNDS * 300)) "$P" |
    grep -a -A8 '^@@QSMP' | grep -a -v '^lab-run:\|^--$'
