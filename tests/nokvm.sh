#!/bin/sh
# nokvm.sh QVM: qvm without a usable KVM fails fast, in one line naming the
# cause and what to do, with exit status 64 (fatal error before the guest
# started). Runs on any machine: the device is chosen with $QVM_KVM_DEV.
#   missing device   -> "load kvm_intel or kvm_amd, or use tools/qvm-lab"
#   no permission    -> "join the kvm group"
#   not a KVM device -> "is not a KVM device" (wrong API)
set -u
qvm=$1
case $qvm in /*) ;; *) qvm=$(pwd)/$qvm ;; esac
cd "$(dirname "$0")/configs" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
check() { # NAME DEVICE EXPECTED-TEXT [runner...]
    name=$1 dev=$2 want=$3
    shift 3
    n=$((n + 1))
    QVM_KVM_DEV=$dev timeout 20 "$@" "$qvm" ram 64m load files/tiny.elf \
        </dev/null >"$tmp/out" 2>"$tmp/err"
    rc=$?
    lines=$(grep -c . "$tmp/err")
    if [ "$rc" -eq 64 ] && grep -q "$want" "$tmp/err" && [ "$lines" -eq 1 ] &&
        [ ! -s "$tmp/out" ]; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name (exit $rc, $lines stderr lines, wanted '$want')"
        sed 's/^/# /' "$tmp/err" "$tmp/out"
        failed=1
    fi
}
check "no /dev/kvm" "$tmp/missing" "load kvm_intel or kvm_amd, or use tools/qvm-lab"
check "not a KVM device" /dev/null "is not a KVM device"
# No permission: a device node qvm may not open. Root opens anything, so as
# root run qvm as nobody (setpriv) against a root-only file.
: >"$tmp/kvm"
chmod 600 "$tmp/kvm"
chmod 755 "$tmp"
if [ "$(id -u)" -eq 0 ]; then
    if command -v setpriv >/dev/null; then
        check "no permission" "$tmp/kvm" "join the kvm group" \
            setpriv --reuid=65534 --regid=65534 --clear-groups
    else
        n=$((n + 1)); echo "not ok $n - no permission (setpriv missing)"; failed=1
    fi
else
    chmod 000 "$tmp/kvm"
    check "no permission" "$tmp/kvm" "join the kvm group"
fi
echo "1..$n"
exit $failed
