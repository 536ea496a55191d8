#!/bin/sh
# test-runner.sh: tests/vm/run-vm-tests keeps its contract (tests/vm/README.md)
# on the host bed with stand-in cases, so it needs neither KVM nor the lab:
# the case environment and payload layout, ok/not ok/SKIP lines, failure
# output, per-case timeout (--timeout and a case's own "# timeout: N"),
# CI=true turning skips into failures, --cases,
# --cases-file, the summary line, a cases/lib.sh that is never a case, and
# the cases' helper tests/vm/cases/lib.sh itself (with a stand-in qvm), and
# the files a case exports to its host check (cases/NAME.host).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
RUN=$HERE/../vm/run-vm-tests
T=$(mktemp -d "${TMPDIR:-/tmp}/test-runner.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() {
    echo "FAIL: $*"
    [ ! -f "$T/out" ] || sed 's/^/    | /' "$T/out"
    exit 1
}
mkdir -p "$T/build/tools" "$T/build/tests/guests/x.p" "$T/cases"
printf '#!/bin/sh\nexit 0\n' >"$T/build/qvm"
printf '#!/bin/sh\necho "kvm-probe: usable (stand-in)"\n' >"$T/build/tools/kvm-probe"
chmod +x "$T/build/qvm" "$T/build/tools/kvm-probe"
echo guest >"$T/build/tests/guests/g.elf"
echo obj >"$T/build/tests/guests/g.o"

cat >"$T/cases/lib.inc" <<'EOF2'
check() { "$@" || { echo "check failed: $*"; exit 1; }; }
EOF2
cat >"$T/cases/env.sh" <<'EOF2'
. cases/lib.inc
echo "PASSMARK"
check [ -x "$QVM" ]
check [ "$QVM" = "$(pwd)/bin/qvm" ]
check [ -x bin/kvm-probe ]
check [ -f "$GUESTS/g.elf" ]
check [ ! -e "$GUESTS/g.o" ]
check [ ! -e "$GUESTS/x.p" ]
check [ -d "$CONFIGS" ]
check [ -d "$TMPDIR" ]
check [ -z "$(ls -A "$TMPDIR")" ]
check touch "$TMPDIR/scratch"
check [ -f run-vm-tests ]
check [ -f cases/env.sh ]
if read -r line; then echo "stdin is not /dev/null"; exit 1; fi
exit 0
EOF2
printf 'echo LIBMARK; exit 9\n' >"$T/cases/lib.sh"
printf 'echo FAILMARK; echo to-stderr >&2; exit 3\n' >"$T/cases/fails.sh"
printf 'echo SKIPMARK; exit 77\n' >"$T/cases/skips.sh"
printf 'echo SLOWMARK; sleep 30\n' >"$T/cases/slow.sh"
printf '# a case with its own limit\n# timeout: 1\nsleep 30\n' >"$T/cases/limit.sh"

# 1. All cases, host bed.
rc=0
CI=false "$RUN" --bed host --timeout 2 --cases-dir "$T/cases" "$T/build" \
    >"$T/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "exit status $rc with failures, want 1"
grep -qx 'kvm bed: host' "$T/out" || fail "no 'kvm bed: host' line"
grep -qx 'ok - env' "$T/out" || fail "env case did not pass"
grep -qx 'not ok - fails' "$T/out" || fail "no 'not ok - fails'"
grep -qx 'ok - skips # SKIP' "$T/out" || fail "no 'ok - skips # SKIP'"
grep -qx 'not ok - slow' "$T/out" || fail "no 'not ok - slow'"
grep -q 'FAILMARK' "$T/out" || fail "a failing case's output is not shown"
grep -q 'to-stderr' "$T/out" || fail "a failing case's stderr is not shown"
grep -q 'timed out after 2 s' "$T/out" || fail "the timeout is not reported"
grep -qx 'not ok - limit' "$T/out" || fail "no 'not ok - limit'"
grep -q '^# ---- limit: .*timed out after 1 s' "$T/out" ||
    fail "a case's own '# timeout:' is not used"
grep -q '@@QVM-LAB WATCHDOG' "$T/out" && fail "watchdog markers are shown"
! grep -q 'PASSMARK' "$T/out" || fail "a passing case's output is shown"
! grep -q 'lib' "$T/out" || fail "lib.sh was run as a case"
[ "$(tail -n 1 "$T/out")" = 'vm-tests: 1 passed, 3 failed, 1 skipped' ] ||
    fail "wrong summary line"
echo "ok: all cases"

# 2. CI=true: a skip is a failure. --cases selects.
rc=0
CI=true "$RUN" --bed host --cases 'skips env' --cases-dir "$T/cases" "$T/build" \
    >"$T/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "CI=true skip: exit status $rc, want 1"
grep -q '^not ok - skips' "$T/out" || fail "CI=true skip is not a failure"
[ "$(tail -n 1 "$T/out")" = 'vm-tests: 1 passed, 1 failed, 0 skipped' ] ||
    fail "wrong summary line with CI=true"
echo "ok: CI=true"

# 3. --cases-file with comments; all pass: exit 0.
printf '# a list\nenv  # the environment\n\n' >"$T/list"
rc=0
"$RUN" --bed host --cases-file "$T/list" --cases-dir "$T/cases" "$T/build" \
    >"$T/out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "--cases-file: exit status $rc, want 0"
[ "$(tail -n 1 "$T/out")" = 'vm-tests: 1 passed, 0 failed, 0 skipped' ] ||
    fail "wrong summary line with --cases-file"
echo "ok: --cases-file"

# 4. An unknown case is a usage error.
rc=0
"$RUN" --bed host --cases nosuch --cases-dir "$T/cases" "$T/build" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unknown case: exit status $rc, want 2"
rc=0
"$RUN" --bed host --cases lib --cases-dir "$T/cases" "$T/build" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "lib as a case: exit status $rc, want 2"
echo "ok: lib.sh is not a case"

# 5. tests/vm/cases/lib.sh with a stand-in qvm: it prints its arguments,
# then sleeps until SIGTERM (exit 3), or exits with the status given.
L=$T/libtest
mkdir -p "$L/tmp"
cat >"$L/qvm" <<'EOF2'
#!/bin/sh
echo "started $*"
case $1 in
exit) exit "$2" ;;
sleep) trap 'echo "got TERM"; exit 3' TERM; while :; do sleep 0.1; done ;;
esac
EOF2
chmod +x "$L/qvm"
libcase() { # SCRIPT: runs it with the helper; its output in $T/out
    (cd "$HERE/../vm" && QVM=$L/qvm TMPDIR=$L/tmp sh -c ". cases/lib.sh; $1") \
        >"$T/out" 2>&1
}
libcase 'qvm_start a sleep one; wait_for "started sleep one" 5; kill -TERM $pid;
    wait_for "got TERM" 5; qvm_wait 3; o1=$out;
    qvm_start a exit 4; [ "$out" != "$o1" ] || fail "same file";
    ! grep -q "sleep" "$out" || fail "old output"; wait_for "started exit" 5; qvm_wait 4;
    echo LIBOK' || fail "lib.sh: start/wait_for/qvm_wait"
grep -qx LIBOK "$T/out" || fail "lib.sh: did not finish"
rc=0
libcase 'qvm_start b exit 0; wait_for "never printed" 100' || rc=$?
[ "$rc" = 1 ] || fail "lib.sh: wait_for on an exited qvm: status $rc, want 1"
grep -q "qvm exited (0) before 'never printed'" "$T/out" ||
    fail "lib.sh: wait_for does not say that qvm exited"
grep -q "started exit 0" "$T/out" || fail "lib.sh: fail does not show the output"
rc=0
libcase 'qvm_start c exit 5; qvm_wait 0' || rc=$?
[ "$rc" = 1 ] && grep -q 'qvm exited 5, expected 0' "$T/out" ||
    fail "lib.sh: qvm_wait accepts a wrong status"
rc=0
libcase 'qvm_start d sleep; wait_for "never printed" 1' || rc=$?
[ "$rc" = 1 ] && grep -q 'timed out after 1 s' "$T/out" ||
    fail "lib.sh: wait_for does not time out"
echo "ok: cases/lib.sh"

# 6. --arch aarch64: its cases are tests/vm/cases-arm64/ (x86's PIT case is
# not one of them), an x86 qvm is refused, an aarch64 build needs no
# kvm-probe, and lib.sh reaches the payload through cases-arm64/lib.sh.
rc=0
"$RUN" --arch aarch64 --bed host --cases pit "$T/build" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'no test case .*/cases-arm64/pit.sh' "$T/out" ||
    fail "--arch aarch64 does not take its cases from tests/vm/cases-arm64"
mkdir -p "$T/x86build" "$T/a64build"
cp "$(command -v gzip)" "$T/x86build/qvm"
rc=0
"$RUN" --arch aarch64 --bed host --cases-dir "$T/cases" --cases env "$T/x86build" \
    >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'x86build/qvm is not an aarch64 program' "$T/out" ||
    fail "--arch aarch64 took an x86 qvm"
cp "$T/build/qvm" "$T/a64build/qvm"
mkdir -p "$T/vm/cases" "$T/vm/cases-arm64"
cp "$HERE/../vm/cases/lib.sh" "$T/vm/cases/"
cp -P "$HERE/../vm/cases-arm64/lib.sh" "$T/vm/cases-arm64/"
printf '. cases/lib.sh\ncommand -v qvm_start >/dev/null\n[ ! -e bin/kvm-probe ]\n' \
    >"$T/vm/cases-arm64/uselib.sh"
rc=0
"$RUN" --arch aarch64 --bed host --cases-dir "$T/vm/cases-arm64" "$T/a64build" \
    >"$T/out" 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -qx 'ok - uselib' "$T/out" ||
    fail "--arch aarch64 without kvm-probe, or without cases/lib.sh"
echo "ok: --arch aarch64"

# 7. Exported files and host checks: a case's files in $EXPORT reach its
# cases/NAME.host, run by the driver with EXPORT, GUESTS and CI; a failing
# host check is a failure with its output; a failed case fails its host
# check without running it; a case without a .host has none.
H=$T/hcases
mkdir -p "$H"
cat >"$H/exp.sh" <<'EOF2'
printf 'one\000two\n' >"$EXPORT/bin.dat"
mkdir "$EXPORT/sub" && echo deep >"$EXPORT/sub/f"
EOF2
cat >"$H/exp.host" <<'EOF2'
set -e
[ "$(od -An -c "$EXPORT/bin.dat" | tr -d ' \n')" = 'one\0two\n' ]
[ "$(cat "$EXPORT/sub/f")" = deep ] && [ -f "$GUESTS/g.elf" ] && [ "$CI" = false ]
echo HOSTOKMARK
EOF2
printf 'echo x >"$EXPORT/f"\n' >"$H/hbad.sh"
printf 'echo HOSTFAILMARK; exit 4\n' >"$H/hbad.host"
printf 'exit 3\n' >"$H/cbad.sh"
printf 'echo RANMARK\n' >"$H/cbad.host"
printf 'exit 0\n' >"$H/plain.sh"
rc=0
CI=false "$RUN" --bed host --cases-dir "$H" "$T/build" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "host checks: exit status $rc, want 1"
grep -qx 'ok - exp.host' "$T/out" || fail "exp.host did not pass"
grep -qx 'not ok - hbad.host' "$T/out" || fail "no 'not ok - hbad.host'"
grep -q 'HOSTFAILMARK' "$T/out" || fail "a failing host check's output is not shown"
grep -qx 'not ok - cbad.host' "$T/out" || fail "no 'not ok - cbad.host'"
grep -q 'the case did not pass (exit status 3)' "$T/out" || fail "cbad.host: no reason"
! grep -q 'RANMARK\|HOSTOKMARK' "$T/out" || fail "a host check ran after a failed case, or a passing one's output is shown"
! grep -q 'plain.host' "$T/out" || fail "a host check for a case without one"
[ "$(tail -n 1 "$T/out")" = 'vm-tests: 4 passed, 3 failed, 0 skipped' ] ||
    fail "wrong summary line with host checks"
echo "ok: exported files and host checks"

# 8. The same through the lab's console framing, with a stand-in lab-run
# that runs entry.sh here (QVM_LAB_RUN): the files arrive intact; a stream
# with one base64 line changed, or cut short, fails the host checks with
# the reason and never runs them. The flip always changes the third
# line's first base64 character (to A, or to B when it is A): changing its
# first A or a, as it did, left the line alone about 9 % of the time (76
# random base64 characters hold neither), and the spoiled stream passed
# (run 4 of five in a row, 2026-12-07).
cat >"$T/labrun" <<'EOF2'
#!/bin/sh
while [ $# -gt 1 ]; do shift; done
cd "$1" && sh ./entry.sh | case ${SPOIL:-} in
flip) sed '/^@@VMTEST-X /{x;s/^/x/;ta;:a;/^x\{3\}$/{x;s/^@@VMTEST-X A/@@VMTEST-X B/;tb;s/^@@VMTEST-X ./@@VMTEST-X A/;:b;b;};x;}' ;;
cut) sed '/^@@VMTEST EXPORT END/d' ;;
*) cat ;;
esac
EOF2
chmod +x "$T/labrun"
rm -f "$H/hbad.sh" "$H/hbad.host" "$H/cbad.sh" "$H/cbad.host"
# enough for several base64 lines
head -c 3000 /dev/urandom >"$T/rand"
printf 'cp "%s" "$EXPORT/rand"\n' "$T/rand" >>"$H/exp.sh"
printf '\ncmp "$EXPORT/rand" "%s"\n' "$T/rand" >>"$H/exp.host"
rc=0
CI=false QVM_LAB_RUN=$T/labrun "$RUN" --bed lab --cases-dir "$H" "$T/build" \
    >"$T/out" 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -qx 'kvm bed: nested lab' "$T/out" && grep -qx 'ok - exp.host' "$T/out" ||
    fail "lab framing: the exported files did not arrive intact"
! grep -q '@@VMTEST' "$T/out" || fail "lab framing: markers or base64 lines shown"
for how in flip cut; do
    rc=0
    SPOIL=$how CI=false QVM_LAB_RUN=$T/labrun "$RUN" --bed lab --cases-dir "$H" \
        "$T/build" >"$T/out" 2>&1 || rc=$?
    [ "$rc" = 1 ] && grep -qx 'not ok - exp.host' "$T/out" ||
        fail "lab framing ($how): a spoiled stream passed"
    ! grep -q HOSTOKMARK "$T/out" || fail "lab framing ($how): the host check ran"
done
grep -q 'the exported files: @@VMTEST EXPORT BEGIN' "$T/out" ||
    fail "lab framing (cut): no reason"
SPOIL=flip CI=false QVM_LAB_RUN=$T/labrun "$RUN" --bed lab --cases-dir "$H" \
    "$T/build" >"$T/out" 2>&1 || :
grep -q 'bytes received, not the .* bytes with SHA-256 .* sent' "$T/out" ||
    fail "lab framing (flip): no reason"
echo "ok: exported files through the lab's console framing"
echo "PASS: run-vm-tests contract"
