#!/bin/sh
# probe: the raw-KVM floor works on this bed. kvm-probe creates a VM with one
# vCPU, runs a one-page real-mode guest to its hlt, and must call the bed's
# /dev/kvm usable.
set -eu
[ -x bin/kvm-probe ] || { echo "bin/kvm-probe is missing from the payload"; exit 1; }
bin/kvm-probe
