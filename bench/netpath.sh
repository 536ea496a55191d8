#!/bin/sh
# netpath.sh: user-space instructions per frame in qvm's virtio-net
# (bench/netpath.c under callgrind; bench/README.md, "virtio-net in the
# lab", "Per frame").
#
#     bench/netpath.sh [BUILD [FRAMES]]      (defaults: build, 2000)
#
# For each case (receive and transmit; 60-byte frames (a TCP ACK),
# 1514-byte ones (a full segment), 65,000-byte TCP segmentation frames
# with the offloads; frames sent one at a time, and eight) prints the device's
# inclusive instructions per frame: rx_run (everything the receive pass
# does, the recvmsg wrapper included, the kernel not) or tx_run, and the
# event thread's in all (its loop, locks and callbacks).
set -eu
build=${1:-build}
n=${2:-2000}
bin=$build/bench/netpath
[ -x "$bin" ] || ninja -C "$build" bench/netpath >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
. "$(dirname "$0")/lib.sh"
cost() { bench_cg_cost "$@"; }
printf '| case | frames | per frame: %s | per frame: event thread |\n' "rx_run or tx_run"
printf '|---|---|---|---|\n'
for c in "rx 60 1" "rx 60 8" "rx 1514 1" "rx 1514 8" "rx 65000 1 gso" \
    "tx 60 1" "tx 60 8" "tx 1514 1" "tx 1514 8" "tx 65000 1 gso"; do
    set -- $c
    frames=$n
    [ $# -gt 3 ] && frames=$((n / 4))
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$bin" "$1" "$frames" "$2" "$3" ${4:-} >/dev/null 2>&1 ||
        { echo "netpath.sh: $bin $c failed" >&2; exit 1; }
    incl=$(callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null)
    run=$(cost "$incl" "${1}_run")
    ev=$(cost "$incl" ev_thread)
    awk -v c="$c" -v f="$frames" -v r="${run:-0}" -v e="${ev:-0}" 'BEGIN {
        split(c, w, " ")
        printf "| %s %s bytes, %s at a time%s | %d | %.0f | %.0f |\n", w[1], w[2], w[3],
            w[4] == "gso" ? ", offloads" : "", f, r / f, e / f }'
done
