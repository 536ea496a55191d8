#!/bin/sh
# linux-arm64-services: Debian's arm64 Linux uses qvm's watchdog and power
# key (docs/exit-codes.md), three qvm runs in this L1 (1 vCPU each, the
# initramfs of prepare-arm64.sh with Debian's sp805_wdt, gpio_keys and
# evdev loaded at boot; gpio-pl061 and the watchdog core are built in):
# (a) `vdev wdt-sp805 ... action dump,terminate`
#     (tests/vm/configs-arm64/linux-arm64-wdt.qvmconf): sp805_wdt probes
#     qvm's `arm,sp805` node (/dev/watchdog0, identity sp805-wdt, the
#     driver's default timeout of 60 s from the 25 MHz clock in sysfs);
#     busybox's watchdog daemon sets a 4 s timeout and pets it for 10 s,
#     the VM runs on; SIGTERM to the daemon closes with the magic 'V', the
#     driver stops the counter and the VM lives 6 s more; a second daemon
#     is killed with SIGKILL: closed without the magic character the
#     driver leaves it running ("watchdog did not stop!"), no one pets it,
#     and qvm logs the expiry (two periods of 2000 ms), writes the dump
#     (an ELF64 EM_AARCH64 core) and exits 4;
# (b) (linux-arm64-pwrbtn.qvmconf) SIGTERM while Linux waits in acpid:
#     gpio-keys ("gpio-keys", on the PL061's pin 3) reports KEY_POWER,
#     acpid runs `poweroff -f`: PSCI SYSTEM_OFF, qvm exits 0;
# (c) SIGQUIT while Linux boots: the power is cut, exit 3.
# timeout: 600
. cases/lib.sh
ln -s "$GUESTS" "$TMPDIR/guests"
cd "$TMPDIR" || fail "no TMPDIR"
# klog_clean: no kernel warning, bug or oops on the console.
klog_clean() {
    grep -E 'WARNING:|BUG:|Oops|Unable to handle kernel' "$out" >"$TMPDIR/klog"
    [ ! -s "$TMPDIR/klog" ] || fail "$1: $(head -n 1 "$TMPDIR/klog")"
}
# seen TEXT WHY: TEXT (a fixed string) is in $out.
seen() {
    grep -qF "$1" "$out" || fail "$2"
}
g='QVM-GUEST-INIT:'

# (a) the watchdog.
t0=$(date +%s)
mkdir dumps || fail "mkdir dumps"
start linux-arm64-wdt.qvmconf dump "$TMPDIR/dumps"
finish
t1=$(date +%s)
[ "$rc" -eq 4 ] || fail "(a) qvm exited $rc, expected 4 (the watchdog)"
seen 'Machine model: qvm' "(a) the kernel did not take qvm's device tree"
virtio_modules
seen "$g watchdog0: identity 'sp805-wdt' timeout 60 state inactive" \
    "(a) no sp805_wdt watchdog0 with its default timeout of 60 s"
seen "$g watchdog0 petted by the daemon: timeout 4 state active" \
    "(a) the daemon did not start watchdog0 with a 4 s timeout"
seen "$g alive after 10 s of petting" "(a) the VM did not survive 10 s of petting"
seen "$g watchdog0 after the magic close: state inactive" \
    "(a) the magic close did not stop watchdog0"
seen "$g alive 6 s after the magic close" "(a) the VM died after the magic close"
seen 'watchdog0: watchdog did not stop!' "(a) no 'did not stop' from the kernel"
seen "$g watchdog daemon killed: closed without the magic character, state active" \
    "(a) watchdog0 not left running by the close without 'V'"
seen "wdt-sp805 'wdog' (mem 0x1c0f0000) expired: not pinged within two periods of 2000 ms; action dump,terminate: the guest ends (exit 4)" \
    "(a) no expiry line from qvm"
grep -qF "$g FAIL" "$out" && fail "(a) $(grep -F "$g FAIL" "$out" | head -n 1)"
klog_clean "(a)"
set -- dumps/arm64-services-*.gcore
[ -f "$1" ] || fail "(a) no dump in dumps/"
# ELF, 64-bit, little-endian; e_type ET_CORE, e_machine 183 (EM_AARCH64).
h=$(od -An -tx1 -N20 "$1" | tr -d ' \n')
case $h in
7f454c460201*0400b700) ;;
*) fail "(a) the dump is not an ELF64 aarch64 core: $h" ;;
esac
echo "(a) dump $1: ELF64 EM_AARCH64 core"

# (b) the power key.
start linux-arm64-pwrbtn.qvmconf
if ! wait_for "$g waiting" 600; then
    kill -QUIT "$pid" 2>/dev/null
    finish
    fail "(b) Linux did not reach acpid"
fi
kill -TERM "$pid"
finish
t2=$(date +%s)
[ "$rc" -eq 0 ] || fail "(b) qvm exited $rc, expected 0 (power-off)"
seen "$g input device: gpio-keys" "(b) no gpio-keys input device"
seen 'SIGTERM: GPIO power key (KEY_POWER) pressed' "(b) qvm did not press the key"
seen "$g power button, shutting down" "(b) acpid saw no KEY_POWER"
seen 'guest powered off (system event)' "(b) no power-off through PSCI"
klog_clean "(b)"

# (c) SIGQUIT cuts the power.
start linux-arm64-pwrbtn.qvmconf
if ! wait_for 'Machine model: qvm' 300; then
    kill -QUIT "$pid" 2>/dev/null
    finish
    fail "(c) no kernel output"
fi
kill -QUIT "$pid"
finish
t3=$(date +%s)
[ "$rc" -eq 3 ] || fail "(c) qvm exited $rc, expected 3 (power cut)"
seen 'SIGQUIT: power cut' "(c) no power-cut line"
grep -qF 'guest powered off' "$out" && fail "(c) the guest powered off itself"
echo "lab seconds: (a) $((t1 - t0)), (b) $((t2 - t1)), (c) $((t3 - t2))"
echo PASS
