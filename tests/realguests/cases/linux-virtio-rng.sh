#!/bin/sh
# virtio-entropy (PCI) is the guest's hw_random source and /dev/hwrng
# delivers bytes.
# timeout: 150
. cases/lib.sh
boot linux-virtio-rng.qvmconf
[ "$rc" -eq 0 ] || fail "qvm exited $rc, expected 0"
virtio_modules
hwrng_ok
echo PASS
