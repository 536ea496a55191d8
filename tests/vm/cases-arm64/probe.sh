#!/bin/sh
# probe: the raw-KVM floor works on this aarch64 bed. kvm-probe (built from
# tools/kvm-probe-arm64.c in an aarch64 build) creates a VM with one vCPU,
# runs a one-page guest through an MMIO write exit to PSCI SYSTEM_OFF, and
# must call the bed's /dev/kvm usable.
set -eu
[ -x bin/kvm-probe ] || { echo "bin/kvm-probe is missing from the payload"; exit 1; }
bin/kvm-probe
