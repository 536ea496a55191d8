#!/bin/sh
# exitpath.sh: user-space instructions per port-I/O exit in qvm's real exit
# path (bench/exitpath.c under callgrind; bench/README.md, "Per exit").
#
#     bench/exitpath.sh [BUILD [N]]      (defaults: build, 100000)
#
# Counts, per exit: vcpu_thread's inclusive instructions less those of the
# fake ioctl (__wrap_ioctl, which stands for the system call: it writes
# the kvm_run as KVM would): everything qvm runs between two KVM_RUNs.
# For the figure with the ioctl, libc's ioctl wrapper is counted as 21
# (callgrind on a real KVM_RUN, bench/README.md). Also prints each
# function's own share.
set -eu
build=${1:-build}
n=${2:-100000}
bin=$build/bench/exitpath
[ -x "$bin" ] || ninja -C "$build" bench/exitpath >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$n" \
    >/dev/null 2>&1
# Inclusive and self costs by function name (the last field before '[').
incl=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null)
self=$(callgrind_annotate "$out" 2>/dev/null)
. "$(dirname "$0")/lib.sh"
cost() { bench_cg_cost "$@"; }
vt=$(cost "$incl" vcpu_thread)
wrap=$(cost "$incl" __wrap_ioctl)
echo "exits: $n (plus one HLT exit that stops the vCPU)"
awk -v vt="$vt" -v w="$wrap" -v n="$n" 'BEGIN {
    printf "per exit, ioctl excluded: %.1f instructions\n", (vt - w) / (n + 1)
    printf "per exit, with libc ioctl (21): %.1f instructions\n", (vt - w) / (n + 1) + 21
}'
echo "own instructions per exit, by function:"
for f in vcpu_thread arch_vcpu_pre_run kvm_vcpu_run exit_io \
    bus_access read_op access_entered access_slow sink_write; do
    c=$(cost "$self" $f)
    [ -n "$c" ] && awk -v c="$c" -v n="$n" -v f="$f" \
        'BEGIN { printf "  %-20s %6.1f\n", f, c / (n + 1) }'
done
