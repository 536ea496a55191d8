#!/bin/sh
# check-deps.sh: the dependency rule of docs/architecture.md. config/ and
# loader/ are pure (no KVM, no VM core); devices/ and virtio/ never talk to
# KVM directly; only hv/, vm/ and arch/ include <linux/kvm.h>. The one hv/
# header devices/ may include is hv/vfio.h, the VFIO wrapper (no KVM in it):
# the pass-through model (devices/vfio_pci.c) drives its host device there.
cd "$(dirname "$0")/.." || exit 1
fail=0
check() { # DIR PATTERN WHY
    hits=$(grep -rnE "$2" "$1" 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "dependency rule broken: $3"; echo "$hits"; fail=1
    fi
}
check src/config '#include [<"](linux/kvm\.h|hv/|vm/|arch/|devices/|virtio/)' "config/ must not touch KVM or the VM core"
check src/loader '#include [<"](linux/kvm\.h|hv/|vm/|arch/|devices/|virtio/)' "loader/ must not touch KVM or the VM core"
check src/util '#include [<"](linux/kvm\.h|hv/|vm/|arch/|config/|loader/|devices/)' "util/ depends on nothing"
check src/devices '#include [<"](linux/kvm\.h|hv/[^v]|hv/v[^f])' "devices/ use vm/ interfaces, never KVM"
check src/hv/vfio.h '#include [<"](linux/kvm\.h|hv/kvm)' "hv/vfio.h (included by devices/) must not bring KVM in"
check src/virtio '#include [<"](linux/kvm\.h|hv/)' "virtio/ uses vm/ interfaces, never KVM"
for f in $(grep -rlE '#if(def)? +(defined\()?__(x86_64|aarch64|i386)__' src 2>/dev/null); do
    case "$f" in src/arch/*|src/main.c) ;; *) echo "arch #ifdef outside src/arch: $f"; fail=1;; esac
done
[ $fail = 0 ] && echo "dependency rule holds"
exit $fail
