#!/bin/sh
# test.sh: the whole test suite, as CI runs it (the README's test command).
#   1. build (build/) and run the meson suites: unit, golden, fuzz replay,
#      source checks, lab tools; the aarch64 cross build (build-arm64/)
#   2. a release build (build-rel/, -O3) and its unit tests; the unit tests
#      under ThreadSanitizer (build-tsan/); the unit tests and fuzz corpus
#      again under ASan+UBSan (build-asan/)
#      the Debian package, built in a clean copy of the tree and checked
#      (tools/deb-check.sh: lintian, contents, the packaged qvm's --version
#      and a dryrun)
#   3. the libFuzzer target for a bounded time (build-fuzz/, clang)
#   4. the VM tests on the host's /dev/kvm or in the nested lab; with
#      CI=true also the lab smoke batch; the aarch64 VM tests
#      (tests/vm/cases-arm64/) in the aarch64 lab with an aarch64 qvm
#      (build-arm64/, cross-built with cross/aarch64-linux-gnu.txt), which
#      with CI=true must exist
# Ends with one line "N passed, N failed, N skipped".
#   5. the real guests in the nested lab (those in tests/realguests/enabled)
# Options: --quick (skip 2 and 3), --fuzz-seconds N (default 30),
# --real-guests (every real-guest case, enabled or not).
set -u
cd "$(dirname "$0")/.." || exit 1
quick=0
real=0
fuzz_secs=${QVM_FUZZ_SECONDS:-30}
while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --real-guests) real=1 ;;
    --fuzz-seconds) fuzz_secs=$2; shift ;;
    *) echo "usage: tools/test.sh [--quick] [--real-guests] [--fuzz-seconds N]" >&2; exit 2 ;;
    esac
    shift
done
tools/deps.sh || { echo "test.sh: cannot install dependencies"; echo "0 passed, 1 failed"; exit 1; }

P=0 F=0 S=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# meson_suites BUILDDIR NAME [meson test args]: runs and counts meson tests.
# Counts meson's Ok/Fail/Timeout/Unexpected Pass/Skipped, plus the subtests a
# TAP test skipped inside its binary (cmocka's skip(): "not ok N # SKIP"),
# which meson folds into an Ok. A non-zero exit status of meson test is a
# failure even when no count says so. With CI=true every skip is a failure
# unless the skipped test printed a line "# ci-not-applicable: WHY" (a
# reason it cannot apply on any CI machine: CI runs as root on Debian 12,
# with tap devices, without /dev/kvm).
meson_suites() {
    dir=$1 name=$2
    shift 2
    echo "== $name"
    rc=0
    # Meson's per-test timeouts catch hangs, not slowness: a loaded machine
    # (a CI runner shared with other jobs, a sanitizer build) took format
    # 30 s, the TSan transport suite 30 s and the ASan golden run 120 s, so
    # they get four times their limit (QVM_TIMEOUT_MULTIPLIER).
    meson test -C "$dir" --print-errorlogs \
        --timeout-multiplier "${QVM_TIMEOUT_MULTIPLIER:-4}" "$@" >"$log/$name" 2>&1 || rc=$?
    grep -E '^ *[0-9]+/[0-9]+ ' "$log/$name"
    ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log/$name")
    fl=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log/$name")
    to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log/$name")
    up=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$log/$name")
    sk=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log/$name")
    if [ -z "$ok" ]; then
        tail -n 40 "$log/$name"
        F=$((F + 1))
        return
    fi
    bad=$((${fl:-0} + ${to:-0} + ${up:-0}))
    if [ "$bad" -gt 0 ]; then
        sed -n '/^Summary of Failures/,$p' "$log/$name" | head -n 40
        grep -B2 -A30 -E '^(not ok|# ---|==[0-9]+==|.*runtime error)' "$log/$name" | head -n 120
    elif [ "$rc" -ne 0 ]; then
        echo "not ok - $name: meson test exited $rc"
        tail -n 40 "$log/$name"
        bad=1
    fi
    tlog=$dir/meson-logs/testlog.txt
    sub=0 na=0
    if [ -f "$tlog" ]; then
        sub=$(grep -ciE '^(not )?ok [0-9]+.*# *skip' "$tlog")
        na=$(grep -c '^# ci-not-applicable: ' "$tlog")
        if [ "$sub" -gt 0 ]; then
            echo "$name: $sub subtest(s) skipped:"
            grep -iE '^(not )?ok [0-9]+.*# *skip|^# ci-not-applicable: ' "$tlog" | sed 's/^/    /'
        fi
    fi
    skips=$((${sk:-0} + sub))
    P=$((P + ok))
    F=$((F + bad))
    if [ "${CI:-}" = true ] && [ "$skips" -gt "$na" ]; then
        echo "not ok - $name: $((skips - na)) skip(s) with CI=true"
        F=$((F + skips - na))
        skips=$na
    fi
    S=$((S + skips))
}

steplog=$log/step
step() { # NAME COMMAND...: one pass/fail step with its output on failure
    name=$1
    shift
    if "$@" >"$steplog" 2>&1; then
        echo "ok - $name"
        P=$((P + 1))
    else
        echo "not ok - $name"
        tail -n 60 "$steplog"
        F=$((F + 1))
    fi
}

[ -d build ] || meson setup build >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
step build ninja -C build
meson_suites build tests
# The aarch64 cross build (cross/aarch64-linux-gnu.txt): qvm static like the
# x86 one, and the aarch64 guests; its tests run in the aarch64 lab.
[ -d build-arm64 ] || meson setup build-arm64 \
    --cross-file cross/aarch64-linux-gnu.txt >/dev/null
step build-arm64 ninja -C build-arm64
step "build-arm64: static aarch64 qvm" sh -c 'readelf -h build-arm64/qvm |
    grep -q "Machine: *AArch64" && ! readelf -l build-arm64/qvm | grep -q INTERP'

if [ $quick = 0 ]; then
    # -O3 finds what -O0 cannot (format truncation, maybe-uninitialised).
    [ -d build-rel ] || meson setup build-rel --buildtype=release -Dguests=false >/dev/null
    step build-release ninja -C build-rel
    meson_suites build-rel release --suite unit
    # ThreadSanitizer: the unit tests drive the device threads.
    [ -d build-tsan ] || meson setup build-tsan -Db_sanitize=thread \
        -Db_lundef=false -Dguests=false -Dc_args=-Wno-error=tsan >/dev/null
    step build-tsan ninja -C build-tsan
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        meson_suites build-tsan tsan --suite unit
    [ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined \
        -Db_lundef=false -Dguests=false >/dev/null
    step build-asan ninja -C build-asan
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        meson_suites build-asan asan --suite unit --suite fuzz --suite golden
    step "debian package" tools/deb-check.sh
    if command -v clang >/dev/null; then
        [ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true \
            -Db_sanitize=address,undefined -Db_lundef=false -Dguests=false >/dev/null
        step build-fuzz ninja -C build-fuzz
        # The bounded fuzz runs (one core each, one at a time) go on in the
        # background while the VM tests below use the lab; their lines and
        # counts are reported before the summary.
        if [ -x build-fuzz/tests/fuzz/fuzz_qvmconf ]; then
            (
                P=0 F=0 steplog=$log/fuzzstep
                for t in qvmconf loader virtqueue ser8250 pci hpet pl011 shmem wdt_ib700 wdt_sp805 pl061 vfio virtio_blk virtio_net; do
                    corpus=$(mktemp -d)
                    seeds=tests/fuzz/corpus/$t
                    [ $t = qvmconf ] && seeds="$seeds tests/configs/good tests/configs/bad"
                    # shellcheck disable=SC2086 # seed directories are words
                    step "fuzz $t ${fuzz_secs}s" build-fuzz/tests/fuzz/fuzz_$t \
                        -max_total_time="$fuzz_secs" -rss_limit_mb=2048 -timeout=10 \
                        -print_final_stats=1 "$corpus" $seeds
                    step "fuzz $t coverage" tests/fuzz/check-cov.sh $t
                    rm -rf "$corpus"
                done
                echo "$P $F" >"$log/fuzzcounts"
            ) >"$log/fuzz" 2>&1 &
            fuzz_pid=$!
        fi
    fi
fi
fuzz_join() { # the background fuzz runs: their lines, counts
    [ -n "${fuzz_pid:-}" ] || return 0
    wait "$fuzz_pid"
    echo "== fuzz (ran beside the VM tests)"
    cat "$log/fuzz"
    if [ -s "$log/fuzzcounts" ]; then
        read -r fp ff <"$log/fuzzcounts"
        P=$((P + fp)) F=$((F + ff))
    else
        echo "not ok - fuzz: the background runs reported nothing"
        F=$((F + 1))
    fi
}

vmb=build
vm() { # run-vm-tests args: adds its "vm-tests: P passed, F failed, S skipped"
    { tests/vm/run-vm-tests "$@" "$vmb" 2>&1; echo $? >"$log/vmrc"; } | tee "$log/vm"
    vrc=$(cat "$log/vmrc")
    line=$(grep '^vm-tests: ' "$log/vm" | tail -n 1)
    if [ -z "$line" ]; then
        F=$((F + 1))
        return
    fi
    set -- $(echo "$line" | tr -cs '0-9' ' ')
    P=$((P + $1)) F=$((F + $2)) S=$((S + $3))
    # a non-zero exit with no failure counted is still a failure
    if [ "$vrc" -ne 0 ] && [ "$2" -eq 0 ]; then
        echo "not ok - run-vm-tests exited $vrc"
        F=$((F + 1))
    fi
}
echo "== VM tests"
vm
if [ "${CI:-}" = true ]; then
    echo "== VM tests: lab smoke batch"
    vm --smoke-lab
    # The benchmarks must not rot (issue 18 item 7): one round of each of
    # bench/run.sh's tests on this bed, every row measured, no target
    # asserted.
    echo "== benchmarks: smoke run"
    step "bench smoke (tools/bench-smoke.sh)" tools/bench-smoke.sh build
fi
# aarch64 (issue 16): qvm cross-built into build-arm64/, its VM cases in
# the aarch64 lab (tests/lab/README.md); built here unless already built.
# Without the cross file or the cross compiler nothing runs, a failure with
# CI=true.
a64=cross/aarch64-linux-gnu.txt
if [ ! -x build-arm64/qvm ] && [ -f "$a64" ] && command -v aarch64-linux-gnu-gcc >/dev/null; then
    # a setup that failed leaves a directory without build.ninja
    [ -f build-arm64/build.ninja ] || rm -rf build-arm64
    if [ -d build-arm64 ] || meson setup build-arm64 --cross-file "$a64" >"$log/a64" 2>&1; then
        step build-arm64 ninja -C build-arm64
    else
        echo "not ok - build-arm64: meson setup --cross-file $a64"
        tail -n 20 "$log/a64"
        F=$((F + 1))
    fi
fi
if [ -x build-arm64/qvm ]; then
    echo "== VM tests (aarch64)"
    vmb=build-arm64
    vm --arch aarch64
    # Debian's arm64 Linux (tests/realguests/cases-arm64): its material
    # comes from the aarch64 lab's cache (prepare-arm64.sh).
    echo "== real guests (aarch64)"
    rga=${XDG_CACHE_HOME:-$HOME/.cache}/qvm-realguests/arm64
    if tests/realguests/prepare-arm64.sh "$rga" >"$log/rga" 2>&1; then
        vm --arch aarch64 --cases-dir tests/realguests/cases-arm64 --guests "$rga"
    else
        echo "not ok - real guests (aarch64): tests/realguests/prepare-arm64.sh"
        tail -n 20 "$log/rga"
        F=$((F + 1))
    fi
    vmb=build
elif [ "${CI:-}" = true ]; then
    echo "not ok - VM tests (aarch64): no build-arm64/qvm ($a64 and aarch64-linux-gnu-gcc build it)"
    F=$((F + 1))
fi
# Real guests (Debian's Linux, Xen, memtest86+): always in the nested lab,
# because the host's KVM may not run stock kernels (issue 5). Enabled when
# `tests/realguests/enabled` lists the cases that pass; --real-guests runs all.
rg_list=tests/realguests/enabled
[ $real = 1 ] && rg_list=''
if [ $real = 1 ] || [ -s "$rg_list" ]; then
    echo "== real guests (nested lab)"
    rg=${XDG_CACHE_HOME:-$HOME/.cache}/qvm-realguests
    if tests/realguests/prepare.sh "$rg" >"$log/rg" 2>&1; then
        if [ -n "$rg_list" ]; then
            vm --bed lab --cases-dir tests/realguests/cases --guests "$rg" \
                --cases-file "$rg_list"
        else
            vm --bed lab --cases-dir tests/realguests/cases --guests "$rg"
        fi
    else
        cat "$log/rg"
        F=$((F + 1))
    fi
fi
fuzz_join
echo "$P passed, $F failed, $S skipped"
[ "$F" -eq 0 ]
